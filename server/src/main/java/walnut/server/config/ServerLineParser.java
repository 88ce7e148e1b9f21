package walnut.server.config;

import walnut.core.config.Endpoint;
import walnut.core.config.ServerConfig;

/**
 * One {@code servers:} line (docs/compatibility.md#server-lines-and-names): {@code host:port:weight
 * [name]} or
 * {@code /unix/path:weight [name]}, taken apart from the right as twemproxy does: the name after
 * the last space, the weight after the last colon left of it, then (TCP only) the port after the
 * next colon, and everything left of that is the host, colons and all ({@code ::1:6379:1}).
 *
 * <p>Server hosts are not resolved here: twemproxy resolves them on each new connection.
 */
final class ServerLineParser {

  /** Port whose unnamed servers are named by host alone (libmemcached compatibility). */
  static final int KETAMA_PORT = 11211;

  static final String FORMAT = "has an invalid \"hostname:port:weight [name]\"or"
      + " \"/path/unix_socket:weight [name]\" format string";

  private ServerLineParser() {}

  static ServerConfig parse(String value) throws BadValue {
    boolean unix = value.startsWith("/");
    // twemproxy's delimiter string is " ::" and its loop also runs over the C string's closing
    // NUL, which is never found; a TCP line must find all three, a unix line exactly two.
    String delimiters = " ::\0";
    int expected = unix ? 2 : 3;
    String name = null;
    String weightText = null;
    String portText = null;
    int end = value.length();
    int k = 0;
    for (; k < delimiters.length(); k++) {
      int at = value.lastIndexOf(delimiters.charAt(k), end - 1);
      if (at < 0) {
        if (k == 0) {
          continue; // the name is optional
        }
        break;
      }
      String part = value.substring(at + 1, end);
      if (k == 0) {
        name = part;
      } else if (k == 1) {
        weightText = part;
      } else if (k == 2) {
        portText = part;
      }
      end = at;
    }
    if (k != expected) {
      throw new BadValue(FORMAT);
    }
    String address = value.substring(0, end);

    int weight = Values.atoi(weightText);
    if (weight < 0) {
      throw new BadValue("has an invalid weight in \"hostname:port:weight [name]\" format string");
    } else if (weight == 0) {
      throw new BadValue("has a zero weight in \"hostname:port:weight [name]\" format string");
    }
    if (unix) {
      Endpoint endpoint = Endpoint.unix(address, 0);
      return new ServerConfig(name != null ? name : ServerConfig.defaultName(endpoint), endpoint,
          weight);
    }
    int port = Values.atoi(portText);
    if (port < 1 || port > 65535) {
      throw new BadValue("has an invalid port in \"hostname:port:weight [name]\" format string"
          + " (expected: 1..65535)");
    }
    Endpoint endpoint = Endpoint.tcp(address, port);
    return new ServerConfig(name != null ? name : defaultName(endpoint, portText), endpoint,
        weight);
  }

  /**
   * One {@code sentinels:} line, {@code host:port:weight} as twemproxy's notes write it: the
   * weight must be a valid one and is ignored; a sentinel has no name and no unix socket.
   */
  static Endpoint sentinel(String value) throws BadValue {
    if (value.startsWith("/") || value.indexOf(' ') >= 0) {
      throw new BadValue("has an invalid \"hostname:port:weight\" format string (a sentinel has"
          + " no name and no unix socket)");
    }
    return parse(value).endpoint();
  }

  /**
   * twemproxy builds the name from the line's own text, so a port written {@code 06379} names
   * the server {@code host:06379}, not {@code host:6379}; otherwise this is
   * {@link ServerConfig#defaultName}.
   */
  private static String defaultName(Endpoint endpoint, String portText) {
    if (endpoint.port() == KETAMA_PORT || portText.equals(Integer.toString(endpoint.port()))) {
      return ServerConfig.defaultName(endpoint);
    }
    return endpoint.host() + ":" + portText;
  }
}
