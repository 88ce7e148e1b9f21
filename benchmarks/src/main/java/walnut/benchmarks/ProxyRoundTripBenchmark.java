package walnut.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.config.ServerConfig;
import walnut.core.plugin.PluginRegistry;
import walnut.core.plugin.TransportSelector;
import walnut.core.proxy.EngineOptions;
import walnut.core.proxy.ProxyServer;
import walnut.server.metrics.RequestLog;
import walnut.testing.RedisServer;

/**
 * A whole request's round trip through Walnut, in process, over loopback to real redis-servers:
 * one client connection sends GET or SET, one at a time or 16 pipelined, and waits for the
 * replies. The score is commands per second.
 *
 * <p>Implementation note. The trial starts three {@code redis-server}s (the {@code testing}
 * fixtures: free ports, no persistence, stopped by pid in {@code @TearDown}) and a
 * {@link ProxyServer} over them with twemproxy's default pool (fnv1a_64, ketama), one event loop
 * and the {@code auto} transport (epoll on Linux), as {@code bin/walnut --threads 1} runs. Target
 * {@code DIRECT} sends the same commands straight to one of the redis-servers: the ceiling, and
 * the client's own cost. Keys are 1,024 {@code key:…} names filled with 32-byte values before
 * measuring, so a GET's reply always has the same length and the client reads exactly the bytes
 * it expects into a reused array, with no parsing and no garbage of its own.
 *
 * <p>With {@code -prof gc}, {@code gc.alloc.rate.norm} counts every thread of the JVM, so it is
 * the proxy's garbage per command (its event loop shares the JVM) plus the client's, which the
 * {@code DIRECT} rows show alone. The numbers include the kernel's loopback and the
 * redis-server's work and move with the machine's load: compare rows of one run.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {Forks.NO_LEAK_DETECTION, Forks.QUIET_LOG})
public class ProxyRoundTripBenchmark {

  static final int KEY_COUNT = 1024;
  /** Batches per pipeline depth, each of other keys: a power of two for the mask. */
  static final int BATCH_COUNT = 64;
  static final int MASK = BATCH_COUNT - 1;
  static final int PIPELINE = 16;

  /**
   * Where the client connects: Walnut; Walnut observing every request as
   * {@code --command-metrics --slowlog-threshold 1000} does (a histogram by command, a slow log
   * no request reaches); or one redis-server directly.
   */
  public enum Target { WALNUT, WALNUT_OBSERVED, DIRECT }

  /** What the client sends. */
  public enum Command {
    GET, SET;

    /** The bytes of the reply, always the same: every key holds a value of the same size. */
    int replySize() {
      return this == GET ? RespText.bulk("x".repeat(RespText.VALUE_SIZE)).length : 5;
    }

    byte replyType() {
      return (byte) (this == GET ? '$' : '+');
    }
  }

  /** The redis-servers and the proxy, shared by the benchmark's threads. */
  @State(Scope.Benchmark)
  public static class Cluster {
    @Param
    Target target;

    /** {@code auto}, {@code nio} or {@code epoll}, as {@code --transport} takes. */
    @Param("auto")
    String transport;

    @Param("1")
    int threads;

    final List<RedisServer> backends = new ArrayList<>();
    final List<String> keys = new ArrayList<>();
    final List<String> values = new ArrayList<>();
    ProxyServer proxy;
    int port;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
      try {
        for (int i = 0; i < 3; i++) {
          backends.add(RedisServer.start());
        }
        if (target != Target.DIRECT) {
          List<ServerConfig> servers = new ArrayList<>();
          for (RedisServer backend : backends) {
            servers.add(ServerConfig.of(Endpoint.tcp(backend.host(), backend.port()), 1));
          }
          PoolConfig pool = PoolConfig.builder("bench").listen(Endpoint.tcp("127.0.0.1", 0))
              .redis(true).servers(servers).build();
          PluginRegistry plugins = BenchmarkComponent.create();
          proxy = ProxyServer.start(ProxyConfig.of(pool), plugins,
              TransportSelector.select(plugins, transport), EngineOptions.threads(threads)
                  .withObserver(target == Target.WALNUT_OBSERVED
                      ? new RequestLog(true, 1000, 10) : null));
          port = proxy.port(pool.name());
        } else {
          port = backends.get(0).port();
        }
        fill();
      } catch (Exception | Error e) {
        tearDown();
        throw e;
      }
    }

    /** Sets every key through the target, so GETs hit and their replies have one size. */
    private void fill() throws IOException {
      RespText text = new RespText(42);
      byte[][] sets = new byte[KEY_COUNT][];
      for (int i = 0; i < KEY_COUNT; i++) {
        keys.add(String.format("key:%012d", i));
        values.add(text.value());
        sets[i] = RespText.command("SET", keys.get(i), values.get(i));
      }
      try (Client client = new Client(port, KEY_COUNT * 5)) {
        client.roundTrip(RespText.concat(sets), KEY_COUNT, 5, (byte) '+');
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
      try {
        if (proxy != null) {
          proxy.shutdown(Duration.ofSeconds(2));
          proxy = null;
        }
      } finally {
        for (RedisServer backend : backends) {
          backend.close();
        }
        backends.clear();
      }
    }
  }

  /** One client connection and its precomputed batches; per thread. */
  @State(Scope.Thread)
  public static class Connection {
    @Param
    Command command;

    final byte[][] single = new byte[BATCH_COUNT][];
    final byte[][] pipelined = new byte[BATCH_COUNT][];
    Client client;
    int next;

    @Setup(Level.Trial)
    public void setUp(Cluster cluster) throws IOException {
      int k = 0;
      for (int b = 0; b < BATCH_COUNT; b++) {
        single[b] = request(cluster, k++);
        byte[][] parts = new byte[PIPELINE][];
        for (int i = 0; i < PIPELINE; i++) {
          parts[i] = request(cluster, k++);
        }
        pipelined[b] = RespText.concat(parts);
      }
      client = new Client(cluster.port, PIPELINE * command.replySize());
    }

    private byte[] request(Cluster cluster, int i) {
      String key = cluster.keys.get(i * 37 % KEY_COUNT); // spread over the servers
      return command == Command.GET ? RespText.command("GET", key)
          : RespText.command("SET", key, cluster.values.get(i % KEY_COUNT));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      if (client != null) {
        client.close();
      }
    }
  }

  @Benchmark
  public int pipeline1(Connection c) throws IOException {
    return c.client.roundTrip(c.single[c.next++ & MASK], 1, c.command.replySize(),
        c.command.replyType());
  }

  @Benchmark
  @OperationsPerInvocation(PIPELINE)
  public int pipeline16(Connection c) throws IOException {
    return c.client.roundTrip(c.pipelined[c.next++ & MASK], PIPELINE, c.command.replySize(),
        c.command.replyType());
  }

  /**
   * A blocking RESP client that knows how long its replies are: it writes a batch and reads
   * exactly {@code count × size} bytes back, with a 5 s timeout so a wrong reply fails the run
   * instead of hanging it.
   */
  static final class Client implements AutoCloseable {
    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;
    private final byte[] replies;

    Client(int port, int capacity) throws IOException {
      socket = new Socket();
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      socket.setSoTimeout(5_000);
      out = socket.getOutputStream();
      in = socket.getInputStream();
      replies = new byte[capacity];
    }

    int roundTrip(byte[] batch, int count, int size, byte type) throws IOException {
      out.write(batch);
      int expected = count * size;
      int read = 0;
      while (read < expected) {
        int n = in.read(replies, read, expected - read);
        if (n < 0) {
          throw new IOException("connection closed after " + read + " of " + expected
              + " reply bytes: " + text(read));
        }
        if (read == 0 && replies[0] != type) {
          throw new IOException("unexpected reply: " + text(n));
        }
        read += n;
      }
      if (replies[expected - size] != type) {
        throw new IOException("unexpected last reply: " + text(read));
      }
      return read;
    }

    private String text(int length) {
      return new String(replies, 0, Math.min(length, 200), StandardCharsets.ISO_8859_1)
          .replace("\r\n", "\\r\\n");
    }

    @Override
    public void close() {
      try {
        socket.close();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
