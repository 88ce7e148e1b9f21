package walnut.core.config;

import static com.google.common.base.Preconditions.checkArgument;
import static java.util.Objects.requireNonNull;

import java.nio.charset.StandardCharsets;
import java.util.Comparator;

/**
 * One backend server of a pool.
 *
 * <p>{@code name} is twemproxy's server name (docs/compatibility.md#server-lines-and-names): the
 * configured name, else
 * {@code host:port}, else just {@code host} for port 11211, else {@code path:} for a unix socket.
 * It places the server on the ketama ring, orders the pool's servers and keys the stats JSON.
 */
public record ServerConfig(String name, Endpoint endpoint, int weight) {

  /**
   * twemproxy's server order: shorter names first, equal lengths by unsigned bytes. The sorted
   * order, not the file's, is what modula slots and ketama ties follow.
   */
  public static final Comparator<String> NAME_ORDER = (a, b) -> {
    byte[] x = a.getBytes(StandardCharsets.UTF_8);
    byte[] y = b.getBytes(StandardCharsets.UTF_8);
    if (x.length != y.length) {
      return Integer.compare(x.length, y.length);
    }
    for (int i = 0; i < x.length; i++) {
      int c = Integer.compare(x[i] & 0xff, y[i] & 0xff);
      if (c != 0) {
        return c;
      }
    }
    return 0;
  };

  public ServerConfig {
    requireNonNull(name, "name");
    requireNonNull(endpoint, "endpoint");
    checkArgument(weight > 0, "weight: %s (expected: > 0)", weight);
  }

  /** The name twemproxy gives a server line without an explicit name. */
  public static String defaultName(Endpoint endpoint) {
    if (endpoint.isUnix()) {
      return endpoint.path() + ":";
    }
    return endpoint.port() == 11211 ? endpoint.host() : endpoint.host() + ":" + endpoint.port();
  }

  /** An unnamed server, named as twemproxy names it. */
  public static ServerConfig of(Endpoint endpoint, int weight) {
    return new ServerConfig(defaultName(endpoint), endpoint, weight);
  }
}
