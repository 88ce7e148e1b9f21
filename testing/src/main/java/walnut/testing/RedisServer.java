package walnut.testing;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
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
 */
public final class RedisServer extends ServerFixture {
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(5);
  // Short, because readiness is polled: a slow probe only delays the next one.
  private static final Duration PROBE_TIMEOUT = Duration.ofMillis(500);

  /** A RESP error reply ({@code -ERR …}), returned rather than thrown so tests can assert on it. */
  public record ErrorReply(String message) {}

  private final String password;

  private RedisServer(ServerProcess process, String password) {
    super(process);
    this.password = password;
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
            port -> arguments(port, extra),
            port -> answers(port, password),
            true);
    return new RedisServer(process, password);
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
    return call(port(), password, timeout, args);
  }

  /** {@link #command(Duration, String...)} on any loopback port, for a server with no fixture. */
  static Object call(int port, String password, Duration timeout, String... args) {
    int millis = (int) Math.max(1, timeout.toMillis());
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(HOST, port), millis);
      socket.setSoTimeout(millis);
      socket.setTcpNoDelay(true);
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
            port -> answers(port, password),
            true);
    return new RedisServer(process, password);
  }

  private static boolean answers(int port, String password) {
    try {
      Object reply = call(port, password, PROBE_TIMEOUT, "PING");
      // LOADING cannot happen without persistence, but it would mean "not ready yet".
      return !(reply instanceof ErrorReply e && e.message().startsWith("LOADING"));
    } catch (UncheckedIOException e) {
      return false;
    }
  }

  private static List<String> arguments(int port, List<String> extra) {
    List<String> args = new ArrayList<>();
    args.addAll(
        List.of(
            "--port", Integer.toString(port),
            "--bind", HOST,
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "no"));
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
    return "redis-server[" + HOST + ":" + port() + ", pid " + pid() + "]";
  }
}
