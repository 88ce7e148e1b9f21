package walnut.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * What {@code -t} says of issue #21's pool keys, {@code health_check_interval}, {@code
 * auto_eject_remap} and {@code mget_partial_errors}: good values load into the pool, bad values
 * are refused as twemproxy refuses a bad value of its own keys, and a key that would do nothing
 * on its pool is refused with the reason rather than silently ignored.
 */
class FailureModeKeysTest {

  private static final String NUMBER = "is not a number";
  private static final String BOOL = "is not \"true\" or \"false\"";
  private static final String EJECT_ONLY =
      "is only valid with auto_eject_hosts: true (no server is ever ejected without it)";
  private static final String REDIS_ONLY = "is only valid for a redis pool (add redis: true)";

  @Test
  void aPoolWithoutTheKeysGetsTwemproxysBehaviour() {
    PoolConfig pool = load(pool("redis: true", "auto_eject_hosts: true")).pool("alpha");

    assertEquals(0, pool.healthCheckInterval());
    assertTrue(pool.autoEjectRemap());
    assertFalse(pool.mgetPartialErrors());
    assertFalse(pool.healthChecked(), "a pool without health_check_interval probes nothing");
  }

  @Test
  void goodValuesLoadIntoThePool() {
    PoolConfig pool = load(pool("redis: true", "auto_eject_hosts: true",
        "health_check_interval: 250", "auto_eject_remap: false", "mget_partial_errors: true"))
        .pool("alpha");

    assertEquals(250, pool.healthCheckInterval());
    assertFalse(pool.autoEjectRemap());
    assertTrue(pool.mgetPartialErrors());
    assertTrue(pool.healthChecked());
  }

  @Test
  void theKeysLoadOnAMemcachedPoolToo() {
    PoolConfig pool = load(pool("auto_eject_hosts: true", "health_check_interval: 100",
        "auto_eject_remap: false")).pool("alpha");

    assertEquals(100, pool.healthCheckInterval());
    assertFalse(pool.autoEjectRemap());
    assertFalse(pool.redis());
  }

  /** The values that change nothing are accepted anywhere: they are the defaults. */
  @Test
  void theDefaultValuesNeedNoEjection() {
    PoolConfig pool = load(pool("health_check_interval: 0", "auto_eject_remap: true",
        "redis: true", "mget_partial_errors: false")).pool("alpha");

    assertEquals(0, pool.healthCheckInterval());
    assertTrue(pool.autoEjectRemap());
    assertFalse(pool.mgetPartialErrors());
    assertFalse(pool.healthChecked());
  }

  /** {@code false} is the default, which a memcached pool has anyway. */
  @Test
  void mgetPartialErrorsFalseLoadsOnAMemcachedPool() {
    PoolConfig pool = load(pool("mget_partial_errors: false")).pool("alpha");

    assertFalse(pool.redis());
    assertFalse(pool.mgetPartialErrors());
  }

  @Test
  void theSmallestIntervalLoads() {
    assertEquals(10, load(pool("auto_eject_hosts: true", "health_check_interval: 10"))
        .pool("alpha").healthCheckInterval());
  }

  static Stream<Arguments> refusedValues() {
    return Stream.of(
        Arguments.of(pool("auto_eject_hosts: true", "health_check_interval: -1"), 4,
            "directive \"health_check_interval\": '-1' " + NUMBER),
        Arguments.of(pool("auto_eject_hosts: true", "health_check_interval: often"), 4,
            "directive \"health_check_interval\": 'often' " + NUMBER),
        Arguments.of(pool("auto_eject_hosts: true", "health_check_interval: 1.5"), 4, NUMBER),
        Arguments.of(pool("auto_eject_hosts: true", "health_check_interval: 100ms"), 4, NUMBER),
        Arguments.of(pool("auto_eject_hosts: true", "health_check_interval: 2147483648"), 4,
            NUMBER),
        Arguments.of(pool("auto_eject_hosts: true", "auto_eject_remap: no"), 4,
            "directive \"auto_eject_remap\": 'no' " + BOOL),
        Arguments.of(pool("auto_eject_hosts: true", "auto_eject_remap: False"), 4, BOOL),
        Arguments.of(pool("redis: true", "mget_partial_errors: 1"), 4,
            "directive \"mget_partial_errors\": '1' " + BOOL),
        Arguments.of(pool("auto_eject_hosts: true", "health_check_interval: 1",
            "health_check_interval: 2"), 5,
            "directive \"health_check_interval\" is a duplicate (first given at line 4)"),
        Arguments.of(pool("redis: true", "mget_partial_errors: true",
            "mget_partial_errors: true"), 5, "directive \"mget_partial_errors\" is a duplicate"),
        // Refused because nothing is ever ejected on the pool: the key would silently do nothing.
        Arguments.of(pool("health_check_interval: 100"), 3,
            "directive \"health_check_interval:\" " + EJECT_ONLY),
        Arguments.of(pool("auto_eject_hosts: false", "health_check_interval: 100"), 4,
            "directive \"health_check_interval:\" " + EJECT_ONLY),
        Arguments.of(pool("auto_eject_remap: false"), 3,
            "directive \"auto_eject_remap:\" " + EJECT_ONLY),
        Arguments.of(pool("redis: true", "auto_eject_hosts: false", "auto_eject_remap: false"), 5,
            "directive \"auto_eject_remap:\" " + EJECT_ONLY),
        // A memcached pool has no MGET to answer in part.
        Arguments.of(pool("mget_partial_errors: true"), 3,
            "directive \"mget_partial_errors:\" " + REDIS_ONLY),
        Arguments.of(pool("redis: false", "mget_partial_errors: true"), 4,
            "directive \"mget_partial_errors:\" " + REDIS_ONLY),
        // Each probe is a new connection: a few ms apart would use up ephemeral ports.
        Arguments.of(pool("auto_eject_hosts: true", "health_check_interval: 9"), 4,
            "directive \"health_check_interval:\" is below 10 ms"),
        Arguments.of(pool("auto_eject_hosts: true", "health_check_interval: 1"), 4,
            "is below 10 ms"));
  }

  @ParameterizedTest(name = "[{index}] line {1}: {2}")
  @MethodSource("refusedValues")
  void aBadOrUselessValueIsRefusedWithItsReasonLineAndPool(String yaml, int line, String reason) {
    String message = reject(yaml).getMessage();

    String where = Fixtures.FILE + ":" + line + ": pool 'alpha'";
    assertTrue(message.startsWith(where), () -> "expected " + where + "... but got " + message);
    assertTrue(message.contains(reason), () -> "expected '" + reason + "' in " + message);
  }

  @Test
  void bothEjectionKeysWithoutEjectionNameOneOfThem() {
    String message = reject(pool("health_check_interval: 100", "auto_eject_remap: false"))
        .getMessage();

    assertTrue(message.contains(EJECT_ONLY), message);
    assertTrue(message.contains("\"health_check_interval:\"")
        || message.contains("\"auto_eject_remap:\""), message);
  }
}
