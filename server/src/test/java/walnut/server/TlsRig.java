package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.SslVerifyMode;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import walnut.testing.FreePorts;
import walnut.testing.KvDialect;
import walnut.testing.Poll;
import walnut.testing.ServerFixture;
import walnut.testing.TestPki;
import walnut.testing.TlsSockets;

/**
 * What the TLS integration tests (issue 23) share: one {@link TestPki} per test JVM, the packaged
 * {@code bin/walnut} started on a configuration written from {@link Pool}s, and TLS clients of
 * Walnut's listeners (Jedis, Lettuce, {@code redis-cli --tls}, and a text-protocol client over a
 * JDK {@link SSLSocket}: no Java memcached client speaks TLS). Every client verifies Walnut's
 * certificate as a careful client does: against the test CA only, for the name dialled
 * ({@code 127.0.0.1}, an IP SAN of {@link TestPki#server()}).
 */
final class TlsRig {

  /** The two TLS engines of {@code --tls-provider}. */
  static final List<String> ENGINES = List.of("openssl", "jdk");

  static final String HOST = "127.0.0.1";
  static final Duration TIMEOUT = Duration.ofSeconds(30);

  private TlsRig() {}

  /**
   * One Walnut per TLS engine ({@link #ENGINES}), each with its own pools on their own ports,
   * started in parallel: the set-up of the test classes that run every case on both engines.
   */
  static final class Engines {
    private final Map<String, Walnut> walnuts = new ConcurrentHashMap<>();
    private final Map<String, Map<String, Pool>> pools = new ConcurrentHashMap<>();

    /**
     * Starts each engine's Walnut in {@code dir}/engine on the pools {@code pools} makes (called
     * once per engine: fresh ports), with {@code --tls-provider engine} and {@code args}.
     */
    static Engines start(Path dir, Supplier<Map<String, Pool>> pools, String... args)
        throws InterruptedException {
      Engines engines = new Engines();
      List<Callable<Void>> starts = new ArrayList<>();
      for (String engine : ENGINES) {
        starts.add(() -> {
          Map<String, Pool> mine = pools.get();
          engines.pools.put(engine, mine);
          List<String> all = new ArrayList<>(List.of("--tls-provider", engine));
          all.addAll(List.of(args));
          engines.walnuts.put(engine, TlsRig.start(dir.resolve(engine),
              yaml(mine.values().toArray(Pool[]::new)), all.toArray(String[]::new)));
          return null;
        });
      }
      inParallel(starts);
      return engines;
    }

    Walnut walnut(String engine) {
      Walnut w = walnuts.get(engine);
      assertTrue(w != null, "no walnut for " + engine);
      return w;
    }

    /** The pools of {@code engine}'s Walnut, by name. */
    Map<String, Pool> pools(String engine) {
      return pools.get(engine);
    }

    int port(String engine, String pool) {
      return pools.get(engine).get(pool).port;
    }

    /** Every Walnut started, to close. */
    Collection<Walnut> walnuts() {
      return walnuts.values();
    }
  }

  /** The test JVM's CA and certificates ({@link TestPki#shared()}), shared by every TLS test. */
  static TestPki pki() {
    return TestPki.shared();
  }

  /** The transport this run of the suite tests ({@code walnut.it.transport}, nio by default). */
  static String transport() {
    return System.getProperty("walnut.it.transport", "nio");
  }

  /** The first line of {@code TLS engine: ...} Walnut logs for {@code --tls-provider engine}. */
  static String engineLine(String engine) {
    return engine.equals("openssl") ? "TLS engine: OpenSSL (BoringSSL)" : "TLS engine: JDK (";
  }

  /** One pool of a {@code nutcracker.yml}, on a free port; keys are written in the order given. */
  static final class Pool {
    final String name;
    final int port;
    private final Map<String, String> keys = new LinkedHashMap<>();
    private final List<String> servers = new ArrayList<>();

    Pool(String name, boolean redis) {
      this(name, redis, FreePorts.next());
    }

    Pool(String name, boolean redis, int port) {
      this.name = name;
      this.port = port;
      keys.put("redis", Boolean.toString(redis));
    }

    /** Sets a pool key ({@code tls_cert_file}, {@code timeout}, ...); the value as YAML text. */
    Pool key(String key, Object value) {
      keys.put(key, String.valueOf(value));
      return this;
    }

    /** A listener speaking TLS with {@code cred}'s certificate and the key file {@code key}. */
    Pool listenerTls(TestPki.Credential cred, Path key) {
      return key("tls_cert_file", cred.cert()).key("tls_key_file", key);
    }

    /** Every server over TLS, trusting the test CA. */
    Pool serverTls(TestPki pki) {
      return key("server_tls", true).key("server_tls_ca_file", pki.ca().cert());
    }

    /** {@code - 127.0.0.1:port:1 name}: named, so placement depends on the name only. */
    Pool server(ServerFixture backend, String serverName) {
      servers.add(HOST + ":" + backend.port() + ":1 " + serverName);
      return this;
    }

    /** A server on a port where no fixture runs (a silent listener, say). */
    Pool server(int serverPort, String serverName) {
      servers.add(HOST + ":" + serverPort + ":1 " + serverName);
      return this;
    }

    /** Servers named {@code s0, s1, ...} in order. */
    Pool servers(List<? extends ServerFixture> backends) {
      for (int i = 0; i < backends.size(); i++) {
        server(backends.get(i), "s" + i);
      }
      return this;
    }

    String yaml() {
      StringBuilder b = new StringBuilder(name).append(":\n  listen: ").append(HOST).append(':')
          .append(port).append('\n');
      keys.forEach((k, v) -> b.append("  ").append(k).append(": ").append(v).append('\n'));
      b.append("  servers:\n");
      servers.forEach(s -> b.append("   - ").append(s).append('\n'));
      return b.toString();
    }
  }

  static String yaml(Pool... pools) {
    StringBuilder b = new StringBuilder();
    for (Pool p : pools) {
      b.append(p.yaml());
    }
    return b.toString();
  }

  /** A started Walnut with its stats and metrics ports. */
  record Walnut(WalnutProcess process, Path dir, Path conf, int statsPort, int metricsPort)
      implements AutoCloseable {

    String log() {
      return process.log();
    }

    /**
     * The log lines about pool {@code pool}, for failure messages: waits a little for the first
     * (Walnut answers a request before it logs why it failed).
     */
    String logOf(String pool) {
      Poll.within(Duration.ofSeconds(2), () -> log().contains("'" + pool + "'"));
      return String.join("\n", log().lines().filter(l -> l.contains("'" + pool + "'")).toList());
    }

    double metric(String family, String... labels) {
      return TlsRig.metric(metricsPort, family, labels);
    }

    @Override
    public void close() {
      process.close();
    }
  }

  /**
   * Writes {@code yaml} to {@code dir/nutcracker.yml} and starts {@code bin/walnut} on it in
   * {@code dir} (in the foreground: one JVM, not -d's two) with free stats and metrics ports and
   * {@code args}; returns once it listens.
   */
  static Walnut start(Path dir, String yaml, String... args) throws Exception {
    Files.createDirectories(dir);
    Path conf = dir.resolve("nutcracker.yml");
    Files.writeString(conf, yaml);
    int stats = FreePorts.next();
    int metrics = FreePorts.next();
    List<String> all = new ArrayList<>(List.of("-c", conf.toString(), "-s",
        Integer.toString(stats), "--metrics-port", Integer.toString(metrics)));
    all.addAll(List.of(args));
    WalnutProcess process = WalnutProcess.foreground(dir, all.toArray(String[]::new));
    return new Walnut(process, dir, conf, stats, metrics);
  }

  /**
   * The value of the sample of {@code family} with exactly {@code labels}, 0 if there is none yet
   * (a labelled counter shows no sample before its first increment).
   */
  static double metric(int metricsPort, String family, String... labels) {
    Map<String, PrometheusText.Family> all = PrometheusText.parse(MetricsIT.scrape(metricsPort));
    PrometheusText.Family f = all.get(family);
    if (f == null) {
      return 0;
    }
    String sample = f.type().equals("counter") && !family.endsWith("_total")
        ? family + "_total" : family;
    try {
      return f.value(sample, labels);
    } catch (AssertionError none) {
      return 0;
    }
  }

  // ---- clients of Walnut's TLS listeners ----

  /** Jedis over TLS to {@code 127.0.0.1:port}, verifying the certificate and its name. */
  static Jedis jedis(int port) {
    return jedis(port, null);
  }

  /**
   * The same, presenting {@code client} when the server asks for a certificate. (Jedis 8 would
   * rather have key and trust stores as files, {@code SslOptions}; an SSLContext from the PEM
   * files is what a test has, and what its deprecated but working builder methods take.)
   */
  static Jedis jedis(int port, TestPki.Credential client) {
    return jedis(port, client, pki().ca().cert());
  }

  /** Jedis over TLS to {@code port}, trusting {@code caFile}, presenting {@code client}. */
  @SuppressWarnings("deprecation")
  static Jedis jedis(int port, TestPki.Credential client, Path caFile, String... password) {
    SSLContext context = TlsSockets.context(caFile, client);
    SSLParameters parameters = new SSLParameters();
    parameters.setEndpointIdentificationAlgorithm("HTTPS");
    DefaultJedisClientConfig.Builder config = DefaultJedisClientConfig.builder()
        .ssl(true).sslSocketFactory(context.getSocketFactory()).sslParameters(parameters)
        .connectionTimeoutMillis(10_000).socketTimeoutMillis(60_000);
    if (password.length > 0) {
      config.password(password[0]);
    }
    return new Jedis(new HostAndPort(HOST, port), config.build());
  }

  /** A Lettuce client for {@code 127.0.0.1:port} over TLS (JDK engine), peer fully verified. */
  static RedisClient lettuce(int port) {
    RedisURI uri = RedisURI.Builder.redis(HOST, port).withSsl(true)
        .withVerifyPeer(SslVerifyMode.FULL).withTimeout(Duration.ofSeconds(60)).build();
    RedisClient client = RedisClient.create(uri);
    client.setOptions(ClientOptions.builder().sslOptions(SslOptions.builder().jdkSslProvider()
        .trustManager(pki().ca().cert().toFile()).build()).build());
    return client;
  }

  /** What a finished command printed (stdout and stderr apart) and its exit status. */
  record Run(int exit, String out, String err) {}

  /**
   * {@code redis-cli --tls --cacert <ca> -h 127.0.0.1 -p port args}, its standard output to
   * {@code stdout} when not null (for long replies), else captured.
   */
  static Run redisCli(int port, Path stdout, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("redis-cli", "--tls", "--cacert",
        pki().ca().cert().toString(), "-h", HOST, "-p", Integer.toString(port)));
    command.addAll(List.of(args));
    return run(command, stdout);
  }

  /** Runs {@code command} to its end (60 s at most), killing it by its pid otherwise. */
  static Run run(List<String> command, Path stdout) throws Exception {
    Path err = Files.createTempFile("walnut-run-", ".err");
    Path out = stdout != null ? stdout : Files.createTempFile("walnut-run-", ".out");
    Process process = new ProcessBuilder(command).redirectOutput(out.toFile())
        .redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(
            new java.io.File("/dev/null"))).start();
    try {
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        throw new AssertionError(command + " did not finish in 60 s");
      }
      return new Run(process.exitValue(),
          stdout != null ? "" : Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8));
    } finally {
      process.destroyForcibly(); // by its pid; a no-op once it has exited
      Files.deleteIfExists(err);
      if (stdout == null) {
        Files.deleteIfExists(out);
      }
    }
  }

  /**
   * A connection to a listener of Walnut, through a JDK {@link SSLSocket} (handshake done) or
   * plain TCP, speaking a {@link KvDialect} or raw lines; not thread-safe.
   */
  static final class TlsConn implements AutoCloseable {
    final Socket socket;
    final InputStream in;
    final OutputStream out;

    private TlsConn(Socket socket) throws IOException {
      this.socket = socket;
      this.in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
      this.out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
    }

    /** TLS, verifying Walnut's certificate for 127.0.0.1 against the test CA. */
    static TlsConn open(int port) throws IOException {
      return open(port, null);
    }

    /** The same, presenting {@code client} (null: none) when asked for a certificate. */
    static TlsConn open(int port, TestPki.Credential client) throws IOException {
      return new TlsConn(TlsSockets.connect(TlsSockets.context(pki().ca().cert(), client), port,
          HOST, TIMEOUT));
    }

    /** Plain TCP, for Walnut's plain listeners. */
    static TlsConn plain(int port) throws IOException {
      Socket socket = new Socket();
      socket.connect(new InetSocketAddress(HOST, port), 5_000);
      socket.setSoTimeout((int) TIMEOUT.toMillis());
      socket.setTcpNoDelay(true);
      return new TlsConn(socket);
    }

    void send(byte[] request) throws IOException {
      out.write(request);
      out.flush();
    }

    void send(String request) throws IOException {
      send(request.getBytes(StandardCharsets.UTF_8));
    }

    /** One line without its CRLF; throws at the end of the stream. */
    String line() throws IOException {
      StringBuilder b = new StringBuilder();
      for (;;) {
        int c = in.read();
        if (c < 0) {
          throw new java.io.EOFException("closed after '" + b + "'");
        }
        if (c == '\n' && b.length() > 0 && b.charAt(b.length() - 1) == '\r') {
          b.setLength(b.length() - 1);
          return b.toString();
        }
        b.append((char) c);
      }
    }

    byte[] exactly(int n) throws IOException {
      byte[] bytes = in.readNBytes(n);
      if (bytes.length != n) {
        throw new java.io.EOFException("closed after " + bytes.length + " of " + n + " bytes");
      }
      return bytes;
    }

    /** {@code dialect}'s reply to a SET or GET of {@code key}. */
    KvDialect.Reply call(KvDialect dialect, byte[] request, String key) throws IOException {
      send(request);
      return dialect.read(in, key);
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  /**
   * Stores every key through the TLS listener on {@code port} (value {@code value(key)},
   * pipelined) and returns which of {@code backends} holds each, asked directly: the black-box
   * placement, as {@link walnut.testing.KeyPlacement} learns it through a plain listener.
   */
  static Map<String, Integer> placementThroughTls(KvDialect dialect, int port,
      List<? extends ServerFixture> backends, Collection<String> keys) throws IOException {
    try (TlsConn conn = TlsConn.open(port)) {
      for (String key : keys) {
        conn.out.write(dialect.set(key, "tls"));
      }
      conn.out.flush();
      for (String key : keys) {
        KvDialect.Reply reply = dialect.read(conn.in, key);
        assertEquals(KvDialect.Kind.STORED, reply.kind(), "storing " + key + ": " + reply);
      }
    }
    Map<String, Integer> placement = new HashMap<>();
    for (int b = 0; b < backends.size(); b++) {
      for (String key : dialect.held(backends.get(b), keys)) {
        Integer other = placement.put(key, b);
        assertTrue(other == null, key + " is on backends " + other + " and " + b);
      }
    }
    assertEquals(keys.size(), placement.size(), "every key stored through TLS is on a backend");
    return placement;
  }

  /**
   * Whether a client offering no certificate (or {@code client}'s) is turned away by the TLS
   * listener on {@code port}: the handshake fails, or (TLS 1.3, where the client finishes first)
   * the first request gets no reply but an alert or the end of the connection.
   */
  static boolean refused(int port, TestPki.Credential client, byte[] request) {
    try (TlsConn conn = TlsConn.open(port, client)) {
      conn.send(request);
      conn.line();
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  /**
   * Connects with plain TCP and returns when Walnut closes the connection: the milliseconds from
   * the connect until then; fails if it stays open for {@code limit}.
   */
  static long millisUntilClosed(int port, byte[] send, Duration limit) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(HOST, port), 5_000);
      long start = System.nanoTime();
      socket.setSoTimeout((int) limit.toMillis());
      if (send.length > 0) {
        try {
          socket.getOutputStream().write(send);
          socket.getOutputStream().flush();
        } catch (IOException closedWhileWriting) {
          // Walnut closed it before taking everything: what a long run of junk may meet
        }
      }
      InputStream in = socket.getInputStream();
      try {
        while (in.read() >= 0) {
          // a TLS alert, perhaps; read on to the end
        }
      } catch (java.net.SocketTimeoutException e) {
        throw new AssertionError("the connection stayed open for " + limit.toMillis() + " ms");
      } catch (IOException reset) {
        // closed with a reset: as good as an end
      }
      return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    }
  }

  /**
   * Runs every task at once, each on a thread of its own (starting a Walnut is mostly one core's
   * work for a second or more, starting a server mostly waiting), and returns their results in
   * order; if any failed, fails with every failure once all have ended.
   */
  static <T> List<T> inParallel(List<Callable<T>> tasks) throws InterruptedException {
    List<T> results = new ArrayList<>(java.util.Collections.nCopies(tasks.size(), null));
    List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < tasks.size(); i++) {
      int at = i;
      Thread t = new Thread(() -> {
        try {
          T result = tasks.get(at).call();
          synchronized (results) {
            results.set(at, result);
          }
        } catch (Throwable e) {
          failures.add(e);
        }
      }, "tls-rig-" + i);
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    if (!failures.isEmpty()) {
      AssertionError e = new AssertionError(failures.size() + " of " + tasks.size()
          + " set-up tasks failed: " + failures.get(0));
      failures.forEach(e::addSuppressed);
      throw e;
    }
    synchronized (results) {
      return new ArrayList<>(results);
    }
  }

  /**
   * Closes every one of {@code all} (nulls skipped) at once, each by its own pid; then fails with
   * every failure, a Walnut's included (its close fails on a leak its log reports).
   */
  static void closeAll(Collection<? extends AutoCloseable> all) throws InterruptedException {
    List<Callable<Void>> closes = new ArrayList<>();
    for (AutoCloseable c : all) {
      if (c != null) {
        closes.add(() -> {
          c.close();
          return null;
        });
      }
    }
    inParallel(closes);
  }
}
