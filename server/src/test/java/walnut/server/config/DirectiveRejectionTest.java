package walnut.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.config.Fixtures.pool;
import static walnut.server.config.Fixtures.reject;
import static walnut.server.config.Fixtures.servers;

import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Directive values and pools twemproxy refuses (docs/compatibility.md#configuration-file). Each
 * case was run through
 * {@code nutcracker -t} (0.5.0+dfsg-2), which refuses it, and the reason text is the one it logs.
 */
class DirectiveRejectionTest {

  private static final String NUMBER = "is not a number";
  private static final String BOOL = "is not \"true\" or \"false\"";
  private static final String LISTEN_PORT =
      "has an invalid port in \"hostname:port\" format string";
  private static final String WEIGHT =
      "has an invalid weight in \"hostname:port:weight [name]\" format string";
  private static final String PORT =
      "has an invalid port in \"hostname:port:weight [name]\" format string";

  static Stream<Arguments> refusedValues() {
    return Stream.of(
        Arguments.of(pool("timeout: -1"), 3, "directive \"timeout\": '-1' " + NUMBER),
        Arguments.of(pool("timeout: +7"), 3, NUMBER),
        Arguments.of(pool("timeout: 1.5"), 3, NUMBER),
        Arguments.of(pool("timeout: 10ms"), 3, NUMBER),
        Arguments.of(pool("timeout: ' 7'"), 3, NUMBER),
        Arguments.of(pool("timeout: 2147483648"), 3, NUMBER),
        // twemproxy's int wraps: it takes 4294967296 as 0. Walnut refuses it (see Values.atoi).
        Arguments.of(pool("timeout: 4294967296"), 3, NUMBER),
        Arguments.of(pool("backlog: lots"), 3, "directive \"backlog\": 'lots' " + NUMBER),
        Arguments.of(pool("client_connections: -5"), 3, NUMBER),
        Arguments.of(pool("redis_db: -1"), 3, NUMBER),
        Arguments.of(pool("server_connections: one"), 3, NUMBER),
        Arguments.of(pool("server_retry_timeout: 2147483648"), 3, NUMBER),
        Arguments.of(pool("server_failure_limit: 2x"), 3, NUMBER),
        Arguments.of(pool("redis: True"), 3, "directive \"redis\": 'True' " + BOOL),
        Arguments.of(pool("preconnect: yes"), 3, BOOL),
        Arguments.of(pool("auto_eject_hosts: 1"), 3, BOOL),
        Arguments.of(pool("tcpkeepalive: TRUE"), 3, BOOL),
        Arguments.of(pool("hash_tag: '{'"), 3,
            "directive \"hash_tag\": '{' is not a valid hash tag string with two characters"),
        Arguments.of(pool("hash_tag: '{}{'"), 3, "is not a valid hash tag string"),
        Arguments.of(pool("hash: crc16", "hash: crc16"), 4,
            "directive \"hash\" is a duplicate (first given at line 3)"),
        Arguments.of(pool("listen: 127.0.0.1:22122"), 3, "directive \"listen\" is a duplicate"),
        Arguments.of(pool("redis: true", "redis_auth: a", "redis_auth: b"), 5,
            "directive \"redis_auth\" is a duplicate"),
        Arguments.of(pool("timeout: 1", "timeout: x"), 4, "directive \"timeout\" is a duplicate"),
        Arguments.of(pool("Hash: crc16"), 3, "directive \"Hash\" is unknown"),
        // twemproxy 0.5.0 calls sentinels unknown; Walnut has them, for a redis pool with servers.
        Arguments.of(pool("sentinels: 127.0.0.1:26379:1"), 3,
            "directive \"sentinels:\" is only valid for a redis pool"),
        Arguments.of("alpha:\n  listen: 127.0.0.1:22121\n  sentinels:\n   - 127.0.0.1:26379:1\n",
            1, "missing sequence directive at depth 2"),
        Arguments.of("alpha:\n  listen:\n   - 127.0.0.1:22121\n   - 127.0.0.1:22122\n"
            + "  servers: 127.0.0.1:6379:1\n", 4, "directive \"listen\" is a duplicate"),
        // listen.
        Arguments.of(pool().replace("127.0.0.1:22121", "127.0.0.1"), 2,
            "directive \"listen\": '127.0.0.1' has an invalid \"hostname:port\" format string"),
        Arguments.of(pool().replace("127.0.0.1:22121", "relative/path"), 2,
            "has an invalid \"hostname:port\" format string"),
        Arguments.of(pool().replace(":22121", ":0"), 2, LISTEN_PORT),
        Arguments.of(pool().replace(":22121", ":65536"), 2, LISTEN_PORT),
        Arguments.of(pool().replace(":22121", ":+22121"), 2, LISTEN_PORT),
        Arguments.of(pool().replace(":22121", ":http"), 2, LISTEN_PORT),
        Arguments.of(pool().replace("127.0.0.1", "no-such-host.invalid"), 2,
            "directive \"listen\": 'no-such-host.invalid:22121' has an invalid value"),
        Arguments.of(pool().replace("127.0.0.1:22121", "\":22121\""), 2, "has an invalid value"),
        Arguments.of(pool().replace("127.0.0.1:22121", "\"[::1]:22121\""), 2,
            "has an invalid value"),
        Arguments.of(pool().replace("127.0.0.1:22121", "\"/tmp/w.sock 01000\""), 2,
            "has an invalid file permission in \"socket_path permission\" format string"),
        Arguments.of(pool().replace("127.0.0.1:22121", "\"/tmp/w.sock -1\""), 2,
            "has an invalid file permission"),
        Arguments.of(pool().replace("127.0.0.1:22121", "/tmp/" + "s".repeat(103)), 2,
            "has an invalid value"),
        // servers.
        Arguments.of(servers("127.0.0.1:6379"), 4, "directive \"servers\": '127.0.0.1:6379' "
            + "has an invalid \"hostname:port:weight [name]\"or \"/path/unix_socket:weight [name]\""
            + " format string"),
        Arguments.of(servers(":1"), 4, ServerLineParser.FORMAT),
        Arguments.of(servers("a b:1:1"), 4, ServerLineParser.FORMAT),
        Arguments.of(servers("/tmp/redis.sock"), 4, ServerLineParser.FORMAT),
        Arguments.of(servers("/tmp/re:dis.sock:1"), 4, ServerLineParser.FORMAT),
        Arguments.of(servers("127.0.0.1:6379:x"), 4, WEIGHT),
        Arguments.of(servers("127.0.0.1:6379:1 a b"), 4, WEIGHT),
        Arguments.of(servers("\"127.0.0.1:6379:1\\tname\""), 4, WEIGHT),
        Arguments.of(servers("127.0.0.1:6379:2147483648"), 4, WEIGHT),
        Arguments.of(servers("127.0.0.1:6379:0"), 4,
            "has a zero weight in \"hostname:port:weight [name]\" format string"),
        Arguments.of(servers("/tmp/redis.sock:0"), 4, "has a zero weight"),
        Arguments.of(servers("127.0.0.1:0:1"), 4, PORT),
        Arguments.of(servers("127.0.0.1:65536:1"), 4, PORT),
        Arguments.of(servers("127.0.0.1::1"), 4, PORT),
        Arguments.of(servers("127.0.0.1:+6379:1"), 4, PORT),
        Arguments.of(servers("127.0.0.1:6379:1", "127.0.0.1:6380:0"), 5, "has a zero weight"));
  }

  @ParameterizedTest(name = "[{index}] line {1}: {2}")
  @MethodSource("refusedValues")
  void aValueTwemproxyRefusesIsRefusedWithItsReasonLineAndPool(String yaml, int line,
      String reason) {
    String message = reject(yaml).getMessage();

    String where = Fixtures.FILE + ":" + line + ": pool 'alpha'";
    assertTrue(message.startsWith(where), () -> "expected " + where + "... but got " + message);
    assertTrue(message.contains(reason), () -> "expected '" + reason + "' in " + message);
  }

  static Stream<Arguments> refusedPools() {
    return Stream.of(
        Arguments.of("alpha:\n  hash: crc16\n  servers:\n   - 127.0.0.1:6379:1\n",
            "conf/nutcracker.yml:1: pool 'alpha': directive \"listen:\" is missing"),
        Arguments.of(pool("server_connections: 0"), "conf/nutcracker.yml:3: pool 'alpha':"
            + " directive \"server_connections:\" cannot be 0 (expected: at least 1)"),
        Arguments.of(pool("redis_auth: s3cret"), "conf/nutcracker.yml:3: pool 'alpha': directive"
            + " \"redis_auth:\" is only valid for a redis pool (add redis: true)"),
        Arguments.of(pool("redis: false", "redis_auth: s3cret"), "conf/nutcracker.yml:4: pool"
            + " 'alpha': directive \"redis_auth:\" is only valid for a redis pool"),
        Arguments.of(pool("resp3: true"), "conf/nutcracker.yml:3: pool 'alpha': directive"
            + " \"resp3:\" is only valid for a redis pool (add redis: true)"),
        Arguments.of("alpha:\n  listen:\n   - 127.0.0.1:22121\n",
            "conf/nutcracker.yml:1: pool 'alpha' has no servers"),
        Arguments.of(servers("127.0.0.1:6379:1", "127.0.0.1:6379:2"), "conf/nutcracker.yml:5:"
            + " pool 'alpha' has servers with same name '127.0.0.1:6379' (lines 4 and 5)"),
        Arguments.of(servers("127.0.0.1:6379:1 a", "127.0.0.2:6379:1 a"),
            "pool 'alpha' has servers with same name 'a'"),
        Arguments.of(servers("127.0.0.1:11211:1", "127.0.0.2:6379:1 127.0.0.1"),
            "pool 'alpha' has servers with same name '127.0.0.1'"),
        Arguments.of(servers("127.0.0.1:011211:1", "127.0.0.1:11211:1"),
            "pool 'alpha' has servers with same name '127.0.0.1'"),
        Arguments.of(servers("/tmp/a.sock:1", "/tmp/a.sock:2"),
            "pool 'alpha' has servers with same name '/tmp/a.sock:'"),
        Arguments.of(servers("'127.0.0.1:6379:1 '", "'127.0.0.1:6380:1 '"),
            "pool 'alpha' has servers with same name ''"),
        // Several clashes: twemproxy names the first in sorted order.
        Arguments.of(servers("h:1:1 zz", "h:2:1 zz", "h:3:1 b", "h:4:1 b"),
            "conf/nutcracker.yml:7: pool 'alpha' has servers with same name 'b' (lines 6 and 7)"));
  }

  @ParameterizedTest(name = "[{index}] {1}")
  @MethodSource("refusedPools")
  void aPoolTwemproxyRefusesIsRefusedWithItsReason(String yaml, String expected) {
    String message = reject(yaml).getMessage();

    assertTrue(message.contains(expected), () -> "expected '" + expected + "' in " + message);
  }

  @Test
  void twoPoolsWithTheSameListenTextAreRefused() {
    String yaml = pool() + pool().replace("alpha", "beta");

    assertEquals("conf/nutcracker.yml:6: pools 'alpha' and 'beta' have the same listen address"
        + " '127.0.0.1:22121'", reject(yaml).getMessage());
  }

  @Test
  void twoPoolsWithTheSameNameAreRefused() {
    String yaml = pool() + pool().replace("22121", "22122");

    assertEquals("conf/nutcracker.yml:5: has pools with same name 'alpha' (lines 1 and 5)",
        reject(yaml).getMessage());
  }

  @Test
  void aSameListenIsReportedBeforeASameName() {
    assertTrue(reject(pool() + pool()).getMessage().contains("have the same listen address"));
  }

  @Test
  void aBadDirectiveInAnyPoolIsReportedBeforeAPoolCheck() {
    // twemproxy reads every pool's directives before it checks any pool.
    String yaml = "alpha:\n  servers:\n   - 127.0.0.1:6379:1\n"
        + pool().replace("alpha", "beta").replace("  servers", "  hash: \n  servers");

    assertTrue(reject(yaml).getMessage().contains("pool 'beta': directive \"hash\" has an empty"));
  }

  @Test
  void serverConnectionsZeroIsReportedBeforeRedisAuth() {
    String message = reject(pool("redis_auth: x", "server_connections: 0")).getMessage();

    assertTrue(message.contains("cannot be 0"), message);
  }

  @ParameterizedTest
  @ValueSource(strings = {"hash", "hash_tag", "distribution", "timeout", "backlog",
      "client_connections", "redis", "redis_auth", "redis_db", "preconnect", "auto_eject_hosts",
      "server_connections", "server_retry_timeout", "server_failure_limit", "tcpkeepalive",
      "reuseport", "max_request_size", "client_idle_timeout"})
  void everyDirectiveGivenTwiceIsADuplicateWhateverItsSecondValue(String key) {
    String valid = switch (key) {
      case "hash_tag" -> "'{}'";
      case "redis", "preconnect", "auto_eject_hosts", "tcpkeepalive", "reuseport" -> "true";
      default -> "1";
    };
    String message = reject(pool(key + ": " + valid, key + ": junk")).getMessage();

    assertTrue(message.startsWith("conf/nutcracker.yml:4: pool 'alpha': directive \"" + key
        + "\" is a duplicate (first given at line 3)"), message);
  }
}
