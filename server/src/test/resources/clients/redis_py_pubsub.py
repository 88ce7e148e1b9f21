"""What redis-py's pub/sub gets, at its default settings, in RESP2 and RESP3: one JSON line each.

Usage: redis_py_pubsub.py PORT CHANNEL...  (channels whose names end in ':ch')
Subscribes to the channels and the pattern '*:ch' with get_message, publishes 20 messages per
channel from another client, and prints what arrived grouped by channel (per channel in order), the
confirmations, then the same with a handler under run_in_thread, then the unsubscriptions and
whether the client is back in normal mode.
"""
import json
import sys
import threading

import redis

port = int(sys.argv[1])
channels = sys.argv[2:]
PER_CHANNEL = 20


def text(v):
    return v.decode("latin-1") if isinstance(v, bytes) else v


def show(m):
    return [m["type"], text(m["pattern"]), text(m["channel"]), text(m["data"])]


def next_message(p):
    m = p.get_message(timeout=10)
    if m is None:
        raise SystemExit("no message within 10 s")
    return m


for protocol in (2, 3):
    r = redis.Redis(host="127.0.0.1", port=port, protocol=protocol)
    pub = redis.Redis(host="127.0.0.1", port=port, protocol=protocol)
    out = {"protocol": protocol}
    p = r.pubsub()
    p.subscribe(*channels)
    p.psubscribe("*:ch")
    out["confirmations"] = [show(next_message(p)) for _ in range(len(channels) + 1)]
    p.ping()
    out["ping"] = show(next_message(p))
    receivers = []
    for i in range(PER_CHANNEL):
        for c in channels:
            receivers.append(pub.publish(c, "%s#%d" % (c, i)))
    out["receivers"] = sorted(set(receivers))
    got = {}
    for _ in range(2 * PER_CHANNEL * len(channels)):
        m = next_message(p)
        got.setdefault(m["type"] + " " + text(m["channel"]), []).append(text(m["data"]))
    out["in_order"] = all(v == ["%s#%d" % (k.split(" ", 1)[1], i) for i in range(PER_CHANNEL)]
                          for k, v in got.items())
    out["streams"] = sorted(got.keys())
    p.unsubscribe(channels[0])
    out["unsubscribe_one"] = show(next_message(p))
    out["after_unsubscribe_one"] = pub.publish(channels[0], "x")
    pm = next_message(p)  # still matched by the pattern
    out["pattern_still"] = show(pm)
    p.punsubscribe()
    out["punsubscribe"] = show(next_message(p))
    p.unsubscribe()
    rest = [show(next_message(p)) for _ in channels[1:]]
    out["unsubscribe_rest_counts"] = [m[3] for m in rest]
    out["unsubscribed_names"] = sorted(m[2] for m in rest)
    out["subscribed_after"] = p.subscribed
    p.close()

    # A handler run by run_in_thread, stopped from this thread.
    seen = []
    done = threading.Event()

    def handler(m):
        seen.append(text(m["data"]))
        if seen[-1] == "t9":
            done.set()

    p2 = r.pubsub()
    p2.subscribe(**{channels[-1]: handler})
    t = p2.run_in_thread(sleep_time=0.01, daemon=True)
    # Wait for the subscription to hold before publishing (PUBLISH says how many got it).
    for attempt in range(1000):
        if pub.publish(channels[-1], "probe") == 1:
            break
    for i in range(10):
        pub.publish(channels[-1], "t%d" % i)
    out["thread_done"] = done.wait(10)
    t.stop()
    t.join(10)
    out["thread_messages"] = [s for s in seen if s != "probe"]
    p2.close()
    out["normal_after"] = [r.set("pyps:k", "v"), text(r.get("pyps:k"))]
    r.close()
    pub.close()
    print(json.dumps(out))
