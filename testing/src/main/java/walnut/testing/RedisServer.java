package walnut.testing;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * A real {@code redis-server} on a free loopback port, for integration and fault tests.
 *
 * <p>Contract: {@link #start(String...)} returns once the server answers PING; it runs without
 * persistence ({@code --save "" --appendonly no}) in a fresh temporary working directory, so a
 * {@link #restart()} or {@link #kill()} loses all data. {@link #close()} stops the process by its
 * pid (SIGTERM, then SIGKILL after a deadline) and deletes the directory; use try-with-resources or
 * an {@code @AfterEach}. A forgotten server is killed when the JVM exits. Lifecycle methods may be
 * called from any thread; {@link #command} opens its own connection per call and is thread-safe. If
 * {@code redis-server} is not installed, {@code start} fails and says how to install it.
 *
 * <p>{@link #startTls} starts one that speaks only TLS ({@code --port 0 --tls-port}): {@link
 * #port()} is then the TLS port, and readiness and {@link #command} go through a TLS handshake
 * that verifies the server's certificate (see {@link ServerTls}).
 */
public final class RedisServer extends ServerFixture {
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(5);
  // Short, because readiness is polled: a slow probe only delays the next one.
  private static final Duration PROBE_TIMEOUT = Duration.ofMillis(500);

  /** A RESP error reply ({@code -ERR …}), returned rather than thrown so tests can assert on it. */
  public record ErrorReply(String message) {}

  private final String password;
  private final Dial dial;

  private RedisServer(ServerProcess process, String password, Dial dial) {
    super(process);
    this.password = password;
    this.dial = dial;
  }

  /**
   * Starts a server; {@code extraArgs} are appended to the command line and so override the
   * defaults, e.g. {@code start("--requirepass", "secret")}. With {@code --requirepass}, {@link
   * #command} authenticates each connection itself.
   */
  public static RedisServer start(String... extraArgs) {
    List<String> extra = List.of(extraArgs);
    String password = passwordIn(extra);
    ServerProcess process =
        ServerProcess.start(
            "redis-server",
            "redis-server",
            port -> arguments(port, null, extra),
            port -> answers(port, password, Dial.PLAIN),
            true);
    return new RedisServer(process, password, Dial.PLAIN);
  }

  /**
   * Starts a server that accepts only TLS, on {@link #port()}, with {@code tls}'s certificate and
   * key, demanding client certificates if {@code tls} does ({@code --tls-auth-clients}); {@code
   * extraArgs} as for {@link #start}. Returns once a TLS PING, verifying the certificate as {@code
   * tls.peerHost()}, is answered.
   */
  public static RedisServer startTls(ServerTls tls, String... extraArgs) {
    List<String> extra = List.of(extraArgs);
    String password = passwordIn(extra);
    Dial dial = tls.dial();
    ServerProcess process =
        ServerProcess.start(
            "redis-server",
            "redis-server",
            port -> arguments(port, tls, extra),
            port -> answers(port, password, dial),
            true);
    return new RedisServer(process, password, dial);
  }

  /** Whether this server speaks TLS ({@link #startTls}). */
  public boolean tls() {
    return dial.isTls();
  }

  /** {@link #command(Duration, String...)} with a 5 s timeout. */
  public Object command(String... args) {
    return command(COMMAND_TIMEOUT, args);
  }

  /**
   * Sends one command on a new connection and returns the parsed reply: {@code String} for simple
   * and bulk strings, {@code Long} for integers, {@code List<Object>} for arrays, {@code null} for
   * nil, {@link ErrorReply} for errors. Throws {@link UncheckedIOException} if the server cannot be
   * reached or does not answer within {@code timeout} (its cause is then a {@link
   * java.net.SocketTimeoutException}), as when it is paused.
   */
  public Object command(Duration timeout, String... args) {
    return call(port(), password, dial, timeout, args);
  }

  /** {@link #command(Duration, String...)} on any loopback port, for a server with no fixture. */
  static Object call(int port, String password, Duration timeout, String... args) {
    return call(port, password, Dial.PLAIN, timeout, args);
  }

  private static Object call(
      int port, String password, Dial dial, Duration timeout, String... args) {
    try (Socket socket = dial.open(port, timeout)) {
      OutputStream out = new BufferedOutputStream(socket.getOutputStream());
      InputStream in = new BufferedInputStream(socket.getInputStream());
      if (password != null) {
        Resp.writeCommand(out, "AUTH", password);
      }
      Resp.writeCommand(out, args);
      out.flush();
      if (password != null) {
        Object auth = Resp.readReply(in);
        if (auth instanceof ErrorReply) {
          return auth;
        }
      }
      return Resp.readReply(in);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "redis " + Arrays.toString(args) + " on " + HOST + ":" + port + " failed", e);
    }
  }

  /**
   * A Sentinel, {@code redis-server sentinel.conf --sentinel}, for {@link SentinelTopology}: the
   * file holds {@code conf.apply(port)} and lives in the working directory. It is written at the
   * first start only (and again if that start moved to another port), so a {@link #restart()}
   * keeps what the sentinel rewrote into it: its id, the epoch, the masters it follows now and the
   * sentinels and replicas it knows. {@code password} is the sentinel's {@code requirepass}, used
   * by {@link #command}; null for none.
   */
  static RedisServer sentinel(IntFunction<String> conf, String password) {
    int[] writtenFor = {-1};
    ServerProcess process =
        ServerProcess.start(
            "redis-server",
            "redis-server",
            (dir, port) -> {
              Path file = dir.resolve("sentinel.conf");
              if (writtenFor[0] != port) {
                try {
                  Files.writeString(file, conf.apply(port));
                } catch (IOException e) {
                  throw new UncheckedIOException("cannot write " + file, e);
                }
                writtenFor[0] = port;
              }
              return List.of(file.toString(), "--sentinel");
            },
            port -> answers(port, password, Dial.PLAIN),
            true);
    return new RedisServer(process, password, Dial.PLAIN);
  }

  private static boolean answers(int port, String password, Dial dial) {
    try {
      Object reply = call(port, password, dial, PROBE_TIMEOUT, "PING");
      // LOADING cannot happen without persistence, but it would mean "not ready yet".
      return !(reply instanceof ErrorReply e && e.message().startsWith("LOADING"));
    } catch (UncheckedIOException e) {
      return false;
    }
  }

  private static List<String> arguments(int port, ServerTls tls, List<String> extra) {
    List<String> args = new ArrayList<>();
    args.addAll(
        List.of(
            "--port", tls == null ? Integer.toString(port) : "0",
            "--bind", HOST,
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "no"));
    if (tls != null) {
      args.addAll(
          List.of(
              "--tls-port", Integer.toString(port),
              "--tls-cert-file", tls.server().cert().toString(),
              "--tls-key-file", tls.serverKey().toString()));
      if (tls.client() != null) {
        args.addAll(
            List.of("--tls-ca-cert-file", tls.clientCa().toString(), "--tls-auth-clients", "yes"));
      } else {
        // redis demands client certificates by default, and a CA file only when it does.
        args.addAll(List.of("--tls-auth-clients", "no"));
      }
    }
    args.addAll(extra);
    return args;
  }

  private static String passwordIn(List<String> extra) {
    String password = null;
    for (int i = 0; i + 1 < extra.size(); i++) {
      if (extra.get(i).equals("--requirepass")) {
        password = extra.get(i + 1); // redis keeps the last one, so do we
      }
    }
    return password;
  }

  /** For the fixture's own tests: the working directory, deleted by {@link #close()}. */
  Path workingDirectory() {
    return process.directory();
  }

  @Override
  public String toString() {
    String scheme = dial.isTls() ? "tls " : "";
    return "redis-server[" + scheme + HOST + ":" + port() + ", pid " + pid() + "]";
  }
}
