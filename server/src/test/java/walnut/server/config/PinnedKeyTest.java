package walnut.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.config.Fixtures.load;
import static walnut.server.config.Fixtures.pool;
import static walnut.server.config.Fixtures.reject;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import walnut.core.config.PoolConfig;

/**
 * What {@code -t} says of {@code max_pinned_connections} (issue #24): the private server
 * connections a Redis pool may hold per server for transactions and blocking commands. An
 * integer of twemproxy's kind (digits only, 0 allowed: it refuses them all), on a redis pool only
 * (a memcached pool has nothing to pin), as {@code redis_auth} and {@code resp3} are.
 */
class PinnedKeyTest {

  private static final String NUMBER = "is not a number";
  private static final String REDIS_ONLY = "is only valid for a redis pool (add redis: true)";

  @Test
  void aPoolWithoutTheKeyGetsTheDefault() {
    assertEquals(PoolConfig.DEFAULT_MAX_PINNED_CONNECTIONS,
        load(pool("redis: true")).pool("alpha").maxPinnedConnections());
    assertEquals(PoolConfig.DEFAULT_MAX_PINNED_CONNECTIONS,
        load(pool()).pool("alpha").maxPinnedConnections(), "a memcached pool: the default");
  }

  @Test
  void goodValuesLoadIntoThePool() {
    assertEquals(2, load(pool("redis: true", "max_pinned_connections: 2")).pool("alpha")
        .maxPinnedConnections());
    assertEquals(1000, load(pool("max_pinned_connections: \"1000\"", "redis: true"))
        .pool("alpha").maxPinnedConnections(), "quoting changes nothing; order neither");
    assertEquals(Integer.MAX_VALUE, load(pool("redis: true",
        "max_pinned_connections: 2147483647")).pool("alpha").maxPinnedConnections());
  }

  /** 0 is no private connection at all: every transaction and block is refused. */
  @Test
  void zeroLoads() {
    assertEquals(0, load(pool("redis: true", "max_pinned_connections: 0")).pool("alpha")
        .maxPinnedConnections());
  }

  static Stream<Arguments> refusedValues() {
    return Stream.of(
        Arguments.of(pool("redis: true", "max_pinned_connections: -1"), 4,
            "directive \"max_pinned_connections\": '-1' " + NUMBER),
        Arguments.of(pool("redis: true", "max_pinned_connections: many"), 4,
            "directive \"max_pinned_connections\": 'many' " + NUMBER),
        Arguments.of(pool("redis: true", "max_pinned_connections: 1.5"), 4, NUMBER),
        Arguments.of(pool("redis: true", "max_pinned_connections: 8k"), 4, NUMBER),
        Arguments.of(pool("redis: true", "max_pinned_connections: \"\""), 4,
            "has an empty value"),
        Arguments.of(pool("redis: true", "max_pinned_connections: 2147483648"), 4, NUMBER),
        Arguments.of(pool("redis: true", "max_pinned_connections: 2", "max_pinned_connections: 3"),
            5, "directive \"max_pinned_connections\" is a duplicate (first given at line 4)"),
        Arguments.of(pool("redis: true", "Max_Pinned_Connections: 2"), 4,
            "(directives are lower case)"),
        // A memcached pool has no transaction or blocking command: the key would do nothing.
        Arguments.of(pool("max_pinned_connections: 8"), 3,
            "directive \"max_pinned_connections:\" " + REDIS_ONLY),
        Arguments.of(pool("max_pinned_connections: 0", "redis: false"), 3,
            "directive \"max_pinned_connections:\" " + REDIS_ONLY));
  }

  @ParameterizedTest(name = "[{index}] line {1}: {2}")
  @MethodSource("refusedValues")
  void aBadOrUselessValueIsRefusedWithItsReasonLineAndPool(String yaml, int line, String reason) {
    String message = reject(yaml).getMessage();

    String where = Fixtures.FILE + ":" + line + ": pool 'alpha'";
    assertTrue(message.startsWith(where), () -> "expected " + where + "... but got " + message);
    assertTrue(message.contains(reason), () -> "expected '" + reason + "' in " + message);
  }

  /** Each pool has its own budget. */
  @Test
  void eachPoolHasItsOwn() {
    String yaml = pool("redis: true", "max_pinned_connections: 3")
        + "beta:\n  listen: 127.0.0.1:22122\n  redis: true\n"
        + "  servers:\n   - 127.0.0.1:6380:1\n";
    assertEquals(3, load(yaml).pool("alpha").maxPinnedConnections());
    assertEquals(PoolConfig.DEFAULT_MAX_PINNED_CONNECTIONS,
        load(yaml).pool("beta").maxPinnedConnections());
  }
}
