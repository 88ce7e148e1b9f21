"""Transactions through Walnut with redis-py at its default settings (or protocol=2): a
pipeline(transaction=True), watch() without and with a concurrent write, and a transaction with
keys on two servers. Prints what came back as JSON for TransactionClientsIT."""
import json
import sys

import redis

port, protocol, k1, k2, far = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
kwargs = {} if protocol == "default" else {"protocol": int(protocol)}
r = redis.Redis(host="127.0.0.1", port=port, **kwargs)
other = redis.Redis(host="127.0.0.1", port=port, **kwargs)
out = {"library": "redis-py " + redis.__version__}
hello = r.execute_command("HELLO")
if isinstance(hello, list):  # RESP2: the map as a flat array
    hello = dict(zip(hello[::2], hello[1::2]))
out["proto"] = hello.get(b"proto", hello.get("proto"))

p = r.pipeline(transaction=True)
p.set(k1, "1")
p.incr(k2)
p.get(k1)
out["transaction"] = p.execute()

with r.pipeline() as p:
    p.watch(k1)
    value = int(p.get(k1))
    p.multi()
    p.set(k1, value + 10)
    out["watch_calm"] = p.execute()

with r.pipeline() as p:
    p.watch(k1)
    other.set(k1, "theirs")
    p.multi()
    p.set(k1, "mine")
    try:
        p.execute()
        out["watch_conflict"] = "executed"
    except redis.WatchError:
        out["watch_conflict"] = "WatchError"
out["after_conflict"] = r.get(k1)

p = r.pipeline(transaction=True)
p.set(k2, "x")
p.set(far, "y")
try:
    p.execute()
    out["cross"] = "executed"
except redis.RedisError as e:
    out["cross"] = type(e).__name__ + ": " + str(e)
out["after_cross"] = [r.get(k2), r.get(far)]
out["ping"] = r.ping()


def plain(o):
    if isinstance(o, bytes):
        return o.decode("latin-1")
    if isinstance(o, (list, tuple)):
        return [plain(x) for x in o]
    if isinstance(o, dict):
        return {plain(a): plain(b) for a, b in sorted(o.items())}
    return o


print(json.dumps(plain(out), sort_keys=True))
