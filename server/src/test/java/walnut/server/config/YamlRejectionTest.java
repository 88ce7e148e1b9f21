package walnut.server.config;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.config.Fixtures.pool;
import static walnut.server.config.Fixtures.reject;
import static walnut.server.config.Fixtures.servers;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Files twemproxy refuses before it reads any directive: YAML syntax, document count, refused
 * tokens, shape (docs/compatibility.md#accepted-yaml). Every case was run through {@code nutcracker
 * -t} (0.5.0+dfsg-2), which refuses it; the reason is the one twemproxy logs.
 */
class YamlRejectionTest {

  static Stream<Arguments> refusedFiles() {
    String second = "beta:\n  listen: 127.0.0.1:22122\n  servers:\n   - 127.0.0.1:6379:1\n";
    return Stream.of(
        // Documents: zero or several.
        Arguments.of("", 0, "must contain only 1 document; found 0 documents"),
        Arguments.of("# just a comment\n", 0, "must contain only 1 document; found 0 documents"),
        Arguments.of(pool() + "---\n" + second, 5,
            "must contain only 1 document; found 2 documents"),
        // Refused tokens, with libyaml's token numbers.
        Arguments.of("---\n" + pool(), 1, "document start token (5) is disallowed"),
        Arguments.of(pool() + "...\n", 5, "document end token (6) is disallowed"),
        Arguments.of("%YAML 1.1\n---\n" + pool(), 1, "version directive token (3) is disallowed"),
        Arguments.of("%TAG !e! tag:example.com,2000:\n---\n" + pool(), 1,
            "tag directive token (4) is disallowed"),
        Arguments.of(pool("hash_tag: {}"), 3, "flow mapping start token (12) is disallowed"),
        Arguments.of("alpha:\n  listen: 127.0.0.1:22121\n  servers: [127.0.0.1:6379:1]\n", 3,
            "flow sequence start token (10) is disallowed"),
        Arguments.of(pool().replace("alpha:", "alpha: &a"), 1, "anchor token (19) is disallowed"),
        Arguments.of(pool("hash: *other"), 3, "alias token (18) is disallowed"),
        Arguments.of(pool("hash: !!str crc16"), 3, "tag token (20) is disallowed"),
        // The first refused token wins over a shape problem later in the file.
        Arguments.of(pool("hash: [a]") + "beta: 1\n", 3,
            "flow sequence start token (10) is disallowed"),
        // Not YAML at all (libyaml: "failed (err 3) to get the next yaml document").
        Arguments.of(pool("listen: 127.0.0.1:"), 3, "invalid YAML"),
        Arguments.of("alpha:\n\tlisten: 127.0.0.1:22121\n", 2, "invalid YAML"),
        // Shape.
        Arguments.of("just a scalar\n", 1, "has invalid empty \"key:\" at depth 0"),
        Arguments.of("- a\n", 1, "has sequence at depth 0 instead of 2"),
        Arguments.of("alpha: x\n", 1, "has invalid mapping \"key:\" at depth 1"),
        Arguments.of(pool() + "beta: 1\n", 5, "has invalid mapping \"key:\" at depth 1"),
        Arguments.of("alpha:\n - x\n", 2, "has sequence at depth 1 instead of 2"),
        Arguments.of("? a: b\n: c\n", 1, "has more than one \"key:value\" at depth 1"),
        Arguments.of("alpha:\n  listen: 127.0.0.1:22121\n", 1,
            "missing sequence directive at depth 2"),
        Arguments.of("alpha:\n  listen: 127.0.0.1:22121\n  servers:\n", 1,
            "missing sequence directive at depth 2"),
        // twemproxy refuses a sentinels: list too; Walnut takes that one (SentinelKeysTest).
        Arguments.of(pool() + "  hosts:\n   - 127.0.0.1:26379:1\n", 6,
            "has more than one sequence directive"),
        Arguments.of(pool() + "  sentinels:\n   - 127.0.0.1:26379:1\n  sentinels:\n   - a:1:1\n",
            8, "has more than one sequence directive"),
        Arguments.of(servers("- 127.0.0.1:6379:1"), 4, "has more than one sequence directive"),
        Arguments.of(servers("a: b"), 4, "has a depth greater than 2"),
        Arguments.of(pool("listen2:", "  a: b"), 4, "has a depth greater than 2"),
        Arguments.of(pool("? - a", ": b"), 3, "has invalid \"key:value\" at depth 2"),
        // Empty scalars: twemproxy fails on them silently.
        Arguments.of(pool().replace("alpha:", "'':"), 1, "a pool has an empty name"),
        Arguments.of(pool("'': x"), 3, "a directive has an empty name"),
        Arguments.of(pool("hash:"), 3, "directive \"hash\" has an empty value"),
        Arguments.of(pool("hash_tag: ''"), 3, "directive \"hash_tag\" has an empty value"),
        Arguments.of(pool("redis: true", "redis_auth: \"\""), 4,
            "directive \"redis_auth\" has an empty value"),
        Arguments.of(servers("''"), 4, "directive \"servers\" has an empty value"));
  }

  @ParameterizedTest(name = "[{index}] line {1}: {2}")
  @MethodSource("refusedFiles")
  void aFileTwemproxyRefusesIsRefusedWithItsReasonAndLine(String yaml, int line, String reason) {
    String message = reject(yaml).getMessage();

    String where = line > 0 ? Fixtures.FILE + ":" + line + ": " : Fixtures.FILE + ": ";
    assertTrue(message.startsWith(where), () -> "expected " + where + "... but got " + message);
    assertTrue(message.contains(reason), () -> "expected '" + reason + "' in " + message);
  }
}
