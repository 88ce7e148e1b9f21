"""What redis-py returns for an MGET answered in part: one line of JSON per protocol.

Usage: redis_py_partial.py PORT KEY...
Each element is [type name, value or error text]; then whether the connection still answers PING.
"""
import json
import sys

import redis

port = int(sys.argv[1])
keys = sys.argv[2:]
for protocol in (2, 3):
    r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol, single_connection_client=True)
    out = []
    for v in r.mget(keys):
        if isinstance(v, Exception):
            out.append([type(v).__name__, str(v)])
        else:
            out.append([type(v).__name__, v.decode() if isinstance(v, bytes) else v])
    print(json.dumps({"protocol": protocol, "mget": out, "ping": r.ping()}))
    r.close()
