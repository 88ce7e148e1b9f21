package walnut.benchmarks;

/** JVM flags for the forks of the benchmarks that run Netty code. */
final class Forks {

  /**
   * Netty's leak detector wraps a sample of buffers in another class, which would make the buffer
   * call sites bimorphic here but not in the proxy.
   */
  static final String NO_LEAK_DETECTION = "-Dio.netty.leakDetection.level=disabled";

  /** Benchmark threads are {@code FastThreadLocalThread}s, as event loops are. */
  static final String EVENT_LOOP_THREADS = "-Djmh.executor=CUSTOM";
  static final String EVENT_LOOP_THREADS_CLASS =
      "-Djmh.executor.class=walnut.benchmarks.EventLoopThreads";

  /** The engine and the fixtures log at info; only warnings reach the benchmark's output. */
  static final String QUIET_LOG = "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn";

  private Forks() {}
}
