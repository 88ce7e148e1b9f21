package walnut.redis;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import walnut.core.config.Endpoint;

/**
 * One sentinel's answer to {@code SENTINEL MASTER <name>}: where the master is, and the
 * config-epoch of that knowledge. {@code sentinel} is the sentinel's place in the pool's list.
 */
record MasterAnswer(int sentinel, Endpoint address, long epoch) {

  /**
   * The answer in {@code reply} (the field-value list Redis sends), or {@code null} when it holds
   * no address a server can have (no {@code ip}, an empty one, a port outside 1..65535) or a bad
   * epoch: such an answer moves nothing.
   */
  static MasterAnswer of(int sentinel, Object reply) {
    if (!(reply instanceof List<?> fields)) {
      return null;
    }
    Map<Object, Object> map = new HashMap<>();
    for (int i = 0; i + 1 < fields.size(); i += 2) {
      map.put(fields.get(i), fields.get(i + 1));
    }
    Endpoint address = address(map.get("ip"), map.get("port"));
    Object epoch = map.get("config-epoch");
    try {
      long e = epoch == null ? 0 : Long.parseLong((String) epoch);
      return address == null || e < 0 ? null : new MasterAnswer(sentinel, address, e);
    } catch (RuntimeException ex) {
      return null;
    }
  }

  /** {@code host:port} when both can be a server's, else {@code null}. */
  private static Endpoint address(Object host, Object port) {
    if (!(host instanceof String h) || h.isEmpty() || h.length() > 255 || h.indexOf(' ') >= 0
        || !(port instanceof String p)) {
      return null;
    }
    try {
      int n = Integer.parseInt(p);
      return n >= 1 && n <= 65535 ? Endpoint.tcp(h, n) : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
