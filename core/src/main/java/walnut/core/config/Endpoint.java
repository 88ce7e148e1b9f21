package walnut.core.config;

import static com.google.common.base.Preconditions.checkArgument;
import static java.util.Objects.requireNonNull;

/**
 * A network address as twemproxy's config writes it: {@code host:port}, or a unix socket path
 * (with the socket file's permissions for a listener, 0 meaning "leave the mode alone").
 *
 * <p>Host names are kept unresolved: a server's host is resolved on every new connection, as
 * twemproxy does.
 */
public record Endpoint(String host, int port, String path, int permissions) {

  public Endpoint {
    if (path == null) {
      requireNonNull(host, "host");
      checkArgument(port >= 0 && port <= 65535, "port: %s (expected: 0..65535)", port);
    } else {
      checkArgument(host == null, "a unix endpoint has no host");
      checkArgument(permissions >= 0 && permissions <= 0777,
          "permissions: %s (expected: <= 0777)", Integer.toOctalString(permissions));
    }
  }

  public static Endpoint tcp(String host, int port) {
    return new Endpoint(host, port, null, 0);
  }

  public static Endpoint unix(String path, int permissions) {
    return new Endpoint(null, 0, path, permissions);
  }

  public boolean isUnix() {
    return path != null;
  }

  @Override
  public String toString() {
    return isUnix() ? path : host + ":" + port;
  }
}
