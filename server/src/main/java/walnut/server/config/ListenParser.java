package walnut.server.config;

import java.nio.charset.StandardCharsets;
import walnut.core.config.Endpoint;

/**
 * A pool's {@code listen:} value (docs/compatibility.md#listen-addresses): {@code host:port}, split
 * at the last colon so that
 * {@code ::1:22121} is IPv6 (brackets are not understood), or a unix socket {@code /path} with an
 * optional octal permission after the last space.
 *
 * <p>The host must resolve now, as twemproxy resolves it at load time, but the endpoint keeps the
 * host's text: the transport binds to whatever it resolves to when it starts.
 */
final class ListenParser {

  /** {@code sizeof(sockaddr_un.sun_path)} on Linux: the path and its NUL must fit. */
  static final int UNIX_PATH_LIMIT = 108;

  private final HostResolver resolver;

  ListenParser(HostResolver resolver) {
    this.resolver = resolver;
  }

  Endpoint parse(String value) throws BadValue {
    return value.startsWith("/") ? unix(value) : tcp(value);
  }

  private static Endpoint unix(String value) throws BadValue {
    int space = value.lastIndexOf(' ');
    String path = space < 0 ? value : value.substring(0, space);
    int permissions = 0;
    if (space >= 0) {
      permissions = Values.octalPermission(value.substring(space + 1));
      if (permissions < 0) {
        throw new BadValue("has an invalid file permission in \"socket_path permission\" format"
            + " string (expected: octal, at most 0777)");
      }
    }
    if (path.getBytes(StandardCharsets.UTF_8).length >= UNIX_PATH_LIMIT) {
      throw new BadValue("has an invalid value (a unix socket path must be shorter than "
          + UNIX_PATH_LIMIT + " bytes)");
    }
    return Endpoint.unix(path, permissions);
  }

  private Endpoint tcp(String value) throws BadValue {
    int colon = value.lastIndexOf(':');
    if (colon < 0) {
      throw new BadValue("has an invalid \"hostname:port\" format string");
    }
    int port = Values.atoi(value.substring(colon + 1));
    if (port < 1 || port > 65535) {
      throw new BadValue("has an invalid port in \"hostname:port\" format string"
          + " (expected: 1..65535)");
    }
    String host = value.substring(0, colon);
    if (!resolver.resolves(host)) {
      throw new BadValue("has an invalid value (host '" + host + "' does not resolve)");
    }
    return Endpoint.tcp(host, port);
  }
}
