package walnut.testing;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What happened to a {@link KvLoad}'s requests for one server's keys: counters its clients update
 * from their threads, read for the load's report. Thread-safe.
 */
final class KvLoadServer {
  final LongAdder requests = new LongAdder();
  final LongAdder replies = new LongAdder();
  final LongAdder errors = new LongAdder();
  final LongAdder stored = new LongAdder();
  final ConcurrentHashMap<String, LongAdder> errorTexts = new ConcurrentHashMap<>();
  final AtomicLong maxLatency = new AtomicLong();
  final AtomicLong maxErrorLatency = new AtomicLong();
  volatile long lastError;

  void replied(KvDialect.Reply reply, long latency) {
    replies.increment();
    maxLatency.accumulateAndGet(latency, Math::max);
    if (reply.kind() == KvDialect.Kind.ERROR) {
      errors.increment();
      errorTexts.computeIfAbsent(reply.text(), t -> new LongAdder()).increment();
      maxErrorLatency.accumulateAndGet(latency, Math::max);
      lastError = System.nanoTime();
    }
  }
}
