"""The same commands through any Redis endpoint with redis-py at its default settings; prints
what came back as JSON, for Resp3ClientLibrariesIT to compare Walnut's answers with a server's."""
import json
import sys

import redis

port, prefix = int(sys.argv[1]), sys.argv[2]
r = redis.Redis(host="127.0.0.1", port=port)
k = lambda name: prefix + name
out = {"library": "redis-py " + redis.__version__}
hello = r.execute_command("HELLO")
out["proto"] = hello.get(b"proto", hello.get("proto")) if isinstance(hello, dict) else hello
r.set(k("s"), "v")
out["get"] = r.get(k("s"))
out["counters"] = [r.incr(k("n")), r.incrby(k("n"), 5), r.decr(k("n")), r.incrbyfloat(k("f"), 1.25)]
r.hset(k("h"), mapping={"a": "1", "b": "2"})
out["hgetall"] = r.hgetall(k("h"))
out["hgetall_type"] = type(out["hgetall"]).__name__
r.sadd(k("set"), "x", "y", "z")
out["smembers"] = sorted(r.smembers(k("set")))
out["smembers_type"] = type(r.smembers(k("set"))).__name__
r.zadd(k("z"), {"a": 1.5, "b": 2.25, "c": -3})
out["zrange"] = r.zrange(k("z"), 0, -1, withscores=True)
out["zscore"] = r.zscore(k("z"), "b")
r.rpush(k("l"), "1", "2", "3")
out["lrange"] = r.lrange(k("l"), 0, -1)
out["mget"] = r.mget([k("s"), k("missing"), k("n"), k("also-missing")])
out["exists"] = r.exists(k("s"), k("missing"), k("n"))
out["ttl"] = r.ttl(k("s"))
pipe = r.pipeline(transaction=False)
for i in range(1000):
    if i % 3 == 0:
        pipe.set(k("p%d" % (i % 50)), i)
    elif i % 3 == 1:
        pipe.incr(k("c%d" % (i % 7)))
    else:
        pipe.get(k("p%d" % (i % 50)))
out["pipeline"] = pipe.execute()
out["delete"] = r.delete(*[k("p%d" % i) for i in range(50)])


def plain(o):
    if isinstance(o, bytes):
        return o.decode("latin-1")
    if isinstance(o, (list, tuple)):
        return [plain(x) for x in o]
    if isinstance(o, dict):
        return {plain(a): plain(b) for a, b in sorted(o.items())}
    return o


print(json.dumps(plain(out), sort_keys=True))
