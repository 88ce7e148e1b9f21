package walnut.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.config.Fixtures.load;
import static walnut.server.config.Fixtures.reject;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;

/**
 * What {@code -t} says of issue #22's Sentinel keys: the configuration twemproxy's notes planned
 * (a {@code sentinels:} list beside {@code servers:}) loads, with {@code sentinel_password} and
 * {@code sentinel_refresh_interval}; a server without a name, a memcached pool, a misplaced
 * password and ejection keys that would do nothing are refused with their line.
 */
class SentinelKeysTest {

  /** Pool {@code alpha}: {@code lines} from line 3 on, two named servers, three sentinels. */
  private static String sentinelPool(String... lines) {
    StringBuilder yaml = new StringBuilder("alpha:\n  listen: 127.0.0.1:22121\n");
    for (String line : lines) {
      yaml.append("  ").append(line).append('\n');
    }
    return yaml.append("  servers:\n   - 127.0.0.1:6379:1 shard-a\n   - 127.0.0.1:6380:1 shard-b\n")
        .append("  sentinels:\n   - 127.0.0.1:26379:1\n   - 127.0.0.1:26380:1\n")
        .append("   - localhost:26381:1\n").toString();
  }

  @Test
  void twemproxysPlannedConfigurationLoads() {
    PoolConfig pool = load(sentinelPool("redis: true", "auto_eject_hosts: true",
        "sentinel_password: \"secret\"")).pool("alpha");

    assertTrue(pool.sentinelled());
    assertEquals(List.of(Endpoint.tcp("127.0.0.1", 26379), Endpoint.tcp("127.0.0.1", 26380),
        Endpoint.tcp("localhost", 26381)), pool.sentinels());
    assertEquals("secret", pool.sentinelPassword());
    assertEquals(PoolConfig.DEFAULT_SENTINEL_REFRESH_INTERVAL, pool.sentinelRefreshInterval());
    assertTrue(pool.autoEjectHosts(), "kept as written");
    assertFalse(pool.ejects(), "but nothing of a pool with sentinels is ejected");
  }

  @Test
  void theListMayComeFirstAndTheIntervalBeSet() {
    String yaml = "alpha:\n  sentinels:\n   - 127.0.0.1:26379:1\n  listen: 127.0.0.1:22121\n"
        + "  redis: true\n  sentinel_refresh_interval: 250\n  servers:\n"
        + "   - 127.0.0.1:6379:1 shard-a\n";
    PoolConfig pool = load(yaml).pool("alpha");
    assertEquals(250, pool.sentinelRefreshInterval());
    assertEquals(1, pool.sentinels().size());
    assertNull(pool.sentinelPassword());
  }

  @Test
  void aPoolWithoutSentinelsIsUnchanged() {
    PoolConfig pool = load(Fixtures.pool("redis: true", "auto_eject_hosts: true"))
        .pool("alpha");
    assertFalse(pool.sentinelled());
    assertTrue(pool.ejects());
  }

  static Stream<Arguments> refused() {
    return Stream.of(
        Arguments.of(sentinelPool(), 7, "directive \"sentinels:\" is only valid for a redis pool"),
        Arguments.of(sentinelPool("redis: true").replace("6380:1 shard-b", "6380:1"), 6,
            "a server of a pool with sentinels needs a name"),
        Arguments.of(Fixtures.pool("redis: true", "sentinel_password: x"), 4,
            "directive \"sentinel_password:\" is only valid in a pool with sentinels"),
        Arguments.of(Fixtures.pool("redis: true", "sentinel_refresh_interval: 500"), 4,
            "directive \"sentinel_refresh_interval:\" is only valid in a pool with sentinels"),
        Arguments.of(sentinelPool("redis: true", "sentinel_refresh_interval: 99"), 4,
            "'99' is below 100 ms"),
        Arguments.of(sentinelPool("redis: true", "auto_eject_hosts: true",
            "health_check_interval: 100"), 5,
            "directive \"health_check_interval:\" has no effect in a pool with sentinels"),
        Arguments.of(sentinelPool("redis: true", "auto_eject_hosts: true",
            "auto_eject_remap: false"), 5,
            "directive \"auto_eject_remap:\" has no effect in a pool with sentinels"),
        Arguments.of(sentinelPool("redis: true").replace("127.0.0.1:26380:1",
            "127.0.0.1:26380:1 s2"), 9, "a sentinel has no name"),
        Arguments.of(sentinelPool("redis: true").replace("127.0.0.1:26380:1",
            "/tmp/sentinel.sock:1"), 9, "no unix socket"),
        Arguments.of(sentinelPool("redis: true").replace("127.0.0.1:26380:1",
            "127.0.0.1:26380"), 9, "format string"),
        Arguments.of(sentinelPool("redis: true").replace("127.0.0.1:26380:1",
            "127.0.0.1:26379:2"), 9, "'127.0.0.1:26379:2' is listed twice"),
        Arguments.of(sentinelPool("redis: true") + "  hosts:\n   - a\n", 12,
            "more than one sequence directive"));
  }

  @ParameterizedTest(name = "[{index}] line {1}: {2}")
  @MethodSource("refused")
  void aMisplacedOrBadValueIsRefusedWithItsLine(String yaml, int line, String reason) {
    String message = reject(yaml).getMessage();
    String where = Fixtures.FILE + ":" + line + ":";
    assertTrue(message.startsWith(where), () -> "expected " + where + "... but got " + message);
    assertTrue(message.contains(reason), () -> "expected '" + reason + "' in " + message);
  }
}
