"""What redis-py does with SCAN, INFO, DBSIZE and scripts through Walnut: one line of JSON per
protocol.

Usage: redis_py_pool_wide.py PORT PREFIX KEY...
scan_iter(match=PREFIX*, count=17) as a sorted list; INFO's redis_version, redis_mode and Walnut's
servers_up; DBSIZE; a script registered with register_script run on each KEY (its value back).
"""
import json
import sys

import redis

port = int(sys.argv[1])
prefix = sys.argv[2]
keys = sys.argv[3:]
for protocol in (2, 3):
    r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol, single_connection_client=True)
    scanned = sorted(k.decode() for k in r.scan_iter(match=prefix + "*", count=17))
    info = r.info()
    walnut = r.info("walnut")
    get = r.register_script("return redis.call('GET', KEYS[1])")
    values = [get(keys=[k]).decode() for k in keys]
    print(json.dumps({"protocol": protocol, "scan": scanned,
                      "redis_version": str(info.get("redis_version")),
                      "redis_mode": info.get("redis_mode"),
                      "servers_up": walnut.get("servers_up"), "dbsize": r.dbsize(),
                      "script": values}))
    r.close()
