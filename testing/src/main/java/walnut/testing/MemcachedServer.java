package walnut.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A real {@code memcached} on a free loopback port (TCP only, {@code -U 0}), for integration and
 * fault tests.
 *
 * <p>Contract: {@link #start(String...)} returns once the server answers {@code version}; {@link
 * #close()} stops the process by its pid with SIGKILL (memcached would take up to a second to act
 * on SIGTERM, and has nothing to flush) and deletes its temporary working directory. A {@link
 * #restart()} or {@link #kill()} loses all data. A forgotten server is killed when the JVM exits.
 * Lifecycle methods may be called from any thread; {@link #command} opens its own connection per
 * call and is thread-safe. If {@code memcached} is not installed, {@code start} fails and says how
 * to install it.
 *
 * <p>{@link #startTls} starts one that speaks only TLS ({@code -Z}) on {@link #port()};
 * readiness and {@link #command} then go through a TLS handshake that verifies the server's
 * certificate (see {@link ServerTls}).
 */
public final class MemcachedServer extends ServerFixture {
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration PROBE_TIMEOUT = Duration.ofMillis(500);

  private final Dial dial;

  private MemcachedServer(ServerProcess process, Dial dial) {
    super(process);
    this.dial = dial;
  }

  /** Starts a server; {@code extraArgs} are appended, e.g. {@code start("-m", "16")}. */
  public static MemcachedServer start(String... extraArgs) {
    List<String> extra = List.of(extraArgs);
    ServerProcess process =
        ServerProcess.start(
            "memcached",
            "memcached",
            port -> arguments(port, null, extra),
            port -> answers(port, Dial.PLAIN),
            // memcached acts on SIGTERM only at its next one-second clock tick and, without
            // persistence, has nothing to flush; SIGKILL keeps each close() from costing a second.
            false);
    return new MemcachedServer(process, Dial.PLAIN);
  }

  /**
   * Starts a server that accepts only TLS ({@code -Z -o ssl_chain_cert=…,ssl_key=…}), demanding
   * client certificates if {@code tls} does ({@code ssl_ca_cert}, {@code ssl_verify_mode=2},
   * {@code ssl_session_cache}: see {@link #arguments});
   * {@code extraArgs} as for {@link #start}. Returns once a TLS {@code version}, verifying the
   * certificate as {@code tls.peerHost()}, is answered.
   */
  public static MemcachedServer startTls(ServerTls tls, String... extraArgs) {
    List<String> extra = List.of(extraArgs);
    Dial dial = tls.dial();
    ServerProcess process =
        ServerProcess.start(
            "memcached",
            "memcached",
            port -> arguments(port, tls, extra),
            port -> answers(port, dial),
            false);
    return new MemcachedServer(process, dial);
  }

  /** Whether this server speaks TLS ({@link #startTls}). */
  public boolean tls() {
    return dial.isTls();
  }

  /** {@link #command(Duration, String)} with a 5 s timeout. */
  public String command(String request) {
    return command(COMMAND_TIMEOUT, request);
  }

  /**
   * Sends one text-protocol request on a new connection and returns the whole reply, CRLFs
   * included, e.g. {@code "STORED\r\n"} or {@code "VALUE k 0 1\r\nv\r\nEND\r\n"}. The request is
   * sent as given plus a final CRLF if it lacks one, so a storage command carries its data block:
   * {@code "set k 0 0 1\r\nv"}. The reply ends at its first line unless that line opens a listing
   * ({@code VALUE}, {@code STAT}, {@code ITEM}: read through {@code END}) or a meta value ({@code
   * VA}: read through its data). Do not send {@code noreply}: there would be nothing to wait for
   * but the timeout. Throws {@link UncheckedIOException} on connection failure or timeout.
   */
  public String command(Duration timeout, String request) {
    return call(port(), dial, timeout, request);
  }

  /** The value stored under {@code key}, or null if there is none. */
  public String get(String key) {
    String reply = command("get " + key);
    if (reply.equals("END\r\n")) {
      return null;
    }
    int dataStart = reply.indexOf("\r\n") + 2;
    if (!reply.startsWith("VALUE ") || !reply.endsWith("\r\nEND\r\n")) {
      throw new IllegalStateException("unexpected reply to get " + key + ": " + reply);
    }
    return reply.substring(dataStart, reply.length() - "\r\nEND\r\n".length());
  }

  /** Stores {@code value} under {@code key} with no expiry; true if memcached said STORED. */
  public boolean set(String key, String value) {
    int length = value.getBytes(StandardCharsets.UTF_8).length;
    return command("set " + key + " 0 0 " + length + "\r\n" + value).equals("STORED\r\n");
  }

  private static String call(int port, Dial dial, Duration timeout, String request) {
    String line = request.endsWith("\r\n") ? request : request + "\r\n";
    try (Socket socket = dial.open(port, timeout)) {
      OutputStream out = socket.getOutputStream();
      out.write(line.getBytes(StandardCharsets.UTF_8));
      out.flush();
      return readReply(new BufferedInputStream(socket.getInputStream()));
    } catch (IOException e) {
      throw new UncheckedIOException(
          "memcached '" + request.strip() + "' on " + HOST + ":" + port + " failed", e);
    }
  }

  private static String readReply(InputStream in) throws IOException {
    ByteArrayOutputStream reply = new ByteArrayOutputStream();
    for (;;) {
      String line = Resp.readLine(in);
      reply.writeBytes((line + "\r\n").getBytes(StandardCharsets.UTF_8));
      String[] words = line.split(" ");
      switch (words[0]) {
        case "VALUE": // VALUE <key> <flags> <bytes> [<cas>], data, more values, END
          reply.writeBytes(Resp.readExactly(in, Integer.parseInt(words[3]) + 2));
          break;
        case "VA": // VA <bytes> <flags>*, data
          reply.writeBytes(Resp.readExactly(in, Integer.parseInt(words[1]) + 2));
          return reply.toString(StandardCharsets.UTF_8);
        case "STAT":
        case "ITEM":
          break;
        default:
          return reply.toString(StandardCharsets.UTF_8);
      }
    }
  }

  private static boolean answers(int port, Dial dial) {
    try {
      return call(port, dial, PROBE_TIMEOUT, "version").startsWith("VERSION ");
    } catch (UncheckedIOException e) {
      return false;
    }
  }

  private static List<String> arguments(int port, ServerTls tls, List<String> extra) {
    List<String> args = new ArrayList<>();
    args.addAll(List.of("-p", Integer.toString(port), "-l", HOST, "-U", "0"));
    if ("root".equals(System.getProperty("user.name"))) {
      args.addAll(List.of("-u", "root")); // memcached refuses to run as root without it
    }
    if (tls != null) {
      // One -o, comma-separated: the paths are temporary directories, which hold no commas.
      String options =
          "ssl_chain_cert=" + tls.server().cert() + ",ssl_key=" + tls.serverKey();
      if (tls.client() != null) {
        // 2: require. Without its session cache, memcached 1.6.18 answers a resumed session (the
        // JDK client's second connection) with an internal_error alert once it verifies clients.
        options +=
            ",ssl_ca_cert=" + tls.clientCa() + ",ssl_verify_mode=2,ssl_session_cache";
      }
      args.addAll(List.of("-Z", "-o", options));
    }
    args.addAll(extra);
    return args;
  }

  /** For the fixture's own tests: the working directory, deleted by {@link #close()}. */
  Path workingDirectory() {
    return process.directory();
  }

  @Override
  public String toString() {
    String scheme = dial.isTls() ? "tls " : "";
    return "memcached[" + scheme + HOST + ":" + port() + ", pid " + pid() + "]";
  }
}
