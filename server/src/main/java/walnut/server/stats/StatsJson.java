package walnut.server.stats;

import walnut.core.stats.HealthStat;
import walnut.core.stats.PinStat;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;
import walnut.core.stats.SentinelStats;
import walnut.core.stats.ServerStat;

/**
 * twemproxy's stats document, byte for byte in its layout (docs/compatibility.md#json-layout): one
 * line, fields in twemproxy's order, pools and servers in their sorted order, names unescaped,
 * {@code "k":v, } separators and a final newline, so scripts that parse nutcracker's output read
 * ours unchanged.
 */
public final class StatsJson {

  /** The version the document reports: the twemproxy release whose layout it reproduces. */
  static final String VERSION = "0.5.0";

  private StatsJson() {}

  public static String render(ProxyStats stats, String source, long nowMillis) {
    StringBuilder b = new StringBuilder(1024);
    b.append('{');
    string(b, "service", "nutcracker");
    string(b, "source", source);
    string(b, "version", VERSION);
    number(b, "uptime", (nowMillis - stats.startMillis()) / 1000);
    number(b, "timestamp", nowMillis / 1000);
    number(b, "total_connections", stats.totalConnections());
    number(b, "curr_connections", stats.currentConnections());
    for (ProxyStats.Pool pool : stats.pools()) {
      b.append('"').append(pool.name()).append("\": {");
      for (PoolStat field : PoolStat.values()) {
        number(b, field.field(), pool.counters().get(field));
      }
      SentinelStats sentinels = pool.sentinels();
      if (sentinels != null) { // Walnut's own: a string each, so no parser takes one for a server
        for (int i = 0; i < sentinels.sentinels().size(); i++) {
          string(b, "sentinel_" + sentinels.sentinels().get(i), sentinels.up(i) ? "up" : "down");
        }
      }
      for (int s = 0; s < pool.servers().size(); s++) {
        ProxyStats.Server server = pool.servers().get(s);
        b.append('"').append(server.name()).append("\": {");
        for (ServerStat field : ServerStat.values()) {
          number(b, field.field(), server.counters().get(field));
        }
        if (pool.healthChecked()) { // Walnut's own, after twemproxy's fields
          for (HealthStat field : HealthStat.values()) {
            number(b, field.field(), server.health().get(field));
          }
        }
        if (sentinels != null) {
          string(b, "address", sentinels.address(s));
          number(b, "failovers", sentinels.failovers(s));
        }
        // Walnut's own, last: only once the server had a private connection taken or refused,
        // so a twemproxy pool's document keeps its layout until a client needs one.
        if (server.pinnedUsed()) {
          for (PinStat field : PinStat.values()) {
            number(b, field.field(), server.pinned().get(field));
          }
        }
        closeObject(b);
      }
      closeObject(b);
    }
    // The last ", " or "," becomes the closing brace.
    trimSeparator(b);
    b.append("}\n");
    return b.toString();
  }

  private static void string(StringBuilder b, String key, String value) {
    b.append('"').append(key).append("\":\"").append(value).append("\", ");
  }

  private static void number(StringBuilder b, String key, long value) {
    b.append('"').append(key).append("\":").append(value).append(", ");
  }

  /** twemproxy turns the trailing {@code ", "} into {@code "},"}. */
  private static void closeObject(StringBuilder b) {
    trimSeparator(b);
    b.append("},");
  }

  private static void trimSeparator(StringBuilder b) {
    int n = b.length();
    if (n >= 2 && b.charAt(n - 2) == ',' && b.charAt(n - 1) == ' ') {
      b.setLength(n - 2);
    } else if (n >= 1 && b.charAt(n - 1) == ',') {
      b.setLength(n - 1);
    }
  }
}
