package walnut.benchmarks;

import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.FastThreadLocalThread;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The executor JMH runs benchmark methods on, so that they run on a {@link FastThreadLocalThread}
 * as the proxy's event loops do.
 *
 * <p>Implementation note: Netty keeps its per-thread caches (the {@code Recycler} that reuses
 * slice objects, the decoders' output lists, the allocator's thread caches) in
 * {@code FastThreadLocal}s, which take a slower path on an ordinary thread. Measured, with the
 * pooled allocator, decoding one GET leaves 120 bytes of garbage on JMH's own worker threads and
 * 48 on an event loop, and the decoders run about a quarter slower: on JMH's threads the
 * benchmarks would show costs the proxy never pays. JMH builds this class by name
 * ({@code -Djmh.executor=CUSTOM -Djmh.executor.class=…}, see {@link Forks#EVENT_LOOP_THREADS})
 * through its {@code (int, String)} constructor.
 */
public final class EventLoopThreads extends ThreadPoolExecutor {

  public EventLoopThreads(int maxThreads, String prefix) {
    super(maxThreads, maxThreads, 1, TimeUnit.MINUTES, new LinkedBlockingQueue<>(),
        new DefaultThreadFactory(prefix, true));
  }
}
