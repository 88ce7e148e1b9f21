package walnut.server.config;

import io.netty.handler.ssl.SslProvider;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import walnut.core.config.BackendTls;
import walnut.core.config.ListenerTls;
import walnut.core.stats.TlsStats;
import walnut.core.tls.RotatingTls;

/**
 * One pool's TLS keys while they are read (docs/compatibility.md#tls), and their checks: which
 * keys need which, and that the files make a context, as the proxy would make it (every file
 * readable PEM, every key its certificate's), so that {@code -t} reports what a start would.
 */
final class TlsDraft {

  static final List<String> KEYS = List.of("tls_cert_file", "tls_key_file", "tls_ca_file",
      "tls_client_auth", "server_tls", "server_tls_ca_file", "server_tls_cert_file",
      "server_tls_key_file", "server_tls_server_name", "server_tls_verify");

  private final Map<String, String> values = new HashMap<>();
  private final Map<String, Integer> lines = new HashMap<>();

  /** {@code key: value} at {@code line}; a bad boolean or an empty path is refused here. */
  void set(String key, String value, int line) throws BadValue {
    if (key.equals("tls_client_auth") || key.equals("server_tls")
        || key.equals("server_tls_verify")) {
      Values.bool(value);
    } else if (value.isEmpty()) {
      throw new BadValue("is empty");
    }
    values.put(key, value);
    lines.put(key, line);
  }

  /** A problem: the key it is about, and what is wrong. */
  record Problem(String key, int line, String message) {}

  /**
   * The first problem of the pool's TLS keys, or {@code null}: a key without the one it needs,
   * or files that do not make a context ({@code unixListener}, {@code unixServers}: the pool
   * listens on, or connects to, a unix socket, where TLS is refused).
   */
  Problem check(String pool, int poolLine, boolean unixListener, boolean unixServers) {
    boolean listener = values.containsKey("tls_cert_file") || values.containsKey("tls_key_file");
    for (String key : List.of("tls_cert_file", "tls_key_file")) {
      if (listener && !values.containsKey(key)) {
        String other = key.equals("tls_cert_file") ? "tls_key_file" : "tls_cert_file";
        return new Problem(other, lines.get(other), "needs " + key + " too");
      }
    }
    for (String key : List.of("tls_ca_file", "tls_client_auth")) {
      if (!listener && values.containsKey(key)) {
        return new Problem(key, lines.get(key),
            "is only valid with tls_cert_file and tls_key_file (a TLS listener)");
      }
    }
    if (flag("tls_client_auth", false) && !values.containsKey("tls_ca_file")) {
      return new Problem("tls_client_auth", lines.get("tls_client_auth"),
          "needs tls_ca_file: the CAs client certificates must be signed by");
    }
    if (listener && unixListener) {
      return new Problem("tls_cert_file", lines.get("tls_cert_file"),
          "is not valid on a unix socket listener");
    }
    boolean backend = flag("server_tls", false);
    for (String key : KEYS) {
      if (key.startsWith("server_tls_") && values.containsKey(key) && !backend) {
        return new Problem(key, lines.get(key), "is only valid with server_tls: true");
      }
    }
    if (backend && (values.containsKey("server_tls_cert_file")
        != values.containsKey("server_tls_key_file"))) {
      String given = values.containsKey("server_tls_cert_file") ? "server_tls_cert_file"
          : "server_tls_key_file";
      return new Problem(given, lines.get(given), "needs "
          + (given.equals("server_tls_cert_file") ? "server_tls_key_file" : "server_tls_cert_file")
          + " too");
    }
    if (backend && unixServers) {
      return new Problem("server_tls", lines.get("server_tls"),
          "is not valid with unix socket servers (Redis and memcached serve TLS on TCP only)");
    }
    TlsStats unused = new TlsStats(); // the proxy counts; a check does not
    try {
      if (listener) {
        RotatingTls.listener(pool, listener(), SslProvider.JDK,
            unused.of(pool, TlsStats.Side.CLIENT));
      }
    } catch (IllegalArgumentException e) {
      return new Problem("tls_cert_file", lines.get("tls_cert_file"), withoutPool(pool, e));
    }
    try {
      if (backend) {
        RotatingTls.backend(pool, backend(), SslProvider.JDK,
            unused.of(pool, TlsStats.Side.SERVER));
      }
    } catch (IllegalArgumentException e) {
      return new Problem("server_tls", lines.get("server_tls"), withoutPool(pool, e));
    }
    return null;
  }

  /** The context's message without its {@code pool 'p': } prefix: the error names the pool. */
  private static String withoutPool(String pool, IllegalArgumentException e) {
    String prefix = "pool '" + pool + "': ";
    String message = e.getMessage();
    return message.startsWith(prefix) ? message.substring(prefix.length()) : message;
  }

  /** The listener's TLS, or {@code null}. */
  ListenerTls listener() {
    if (!values.containsKey("tls_cert_file")) {
      return null;
    }
    return new ListenerTls(path("tls_cert_file"), path("tls_key_file"), path("tls_ca_file"),
        flag("tls_client_auth", false));
  }

  /** The servers' TLS, or {@code null}. */
  BackendTls backend() {
    if (!flag("server_tls", false)) {
      return null;
    }
    return new BackendTls(path("server_tls_ca_file"), path("server_tls_cert_file"),
        path("server_tls_key_file"), values.get("server_tls_server_name"),
        flag("server_tls_verify", true));
  }

  private Path path(String key) {
    String value = values.get(key);
    return value == null ? null : Path.of(value);
  }

  private boolean flag(String key, boolean absent) {
    String value = values.get(key);
    if (value == null) {
      return absent;
    }
    try {
      return Values.bool(value);
    } catch (BadValue e) {
      throw new IllegalStateException(e); // set() refused it already
    }
  }
}
