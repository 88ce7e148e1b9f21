package walnut.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.config.Fixtures.load;
import static walnut.server.config.Fixtures.reject;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import walnut.core.config.PoolConfig;

/**
 * Tabs, where libyaml and SnakeYAML part ways. Every file here was run through
 * {@code nutcracker -t} (0.5.0+dfsg-2) with the verdict the test expects.
 */
class LibyamlTabsTest {

  private static String file(String auth) {
    return "alpha:\n  listen: 127.0.0.1:22121\n  redis: true\n" + auth
        + "  servers:\n   - 127.0.0.1:6379:1\n";
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "  redis_auth:\tsecret\n",
      "  redis_auth: \t secret\n",
      "  redis_auth: \"secret\"\t\n",
      "  redis_auth: 'secret' \t# comment\n",
      "  redis_auth: secret\t\n",
      "  redis_auth: >-\t\n    secret\n",
      "  redis_auth: |-\t# comment\n    secret\n"})
  void aTabThatLibyamlSkipsBetweenTokensIsWhiteSpace(String auth) {
    // nutcracker -t accepts all of these; SnakeYAML alone refuses most.
    PoolConfig pool = load(file(auth)).pool("alpha");

    assertEquals("secret", pool.redisAuth());
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "\tredis_auth: secret\n",
      "  redis_auth:\n\t  secret\n",
      "  ? redis_auth\n  :\tsecret\n"})
  void aTabInIndentationIsRefused(String auth) {
    assertTrue(reject(file(auth)).getMessage().contains("invalid YAML"));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "  redis_auth: |-\n   \tsecret\n",
      "  redis_auth: |-\n\n  \t\n    secret\n",
      "  redis_auth: |-\n    secret\n  \t\n    more\n",
      // Before the first line has set the indentation, any tab after the spaces is refused.
      "  redis_auth: |-\n    \tsecret\n"})
  void aTabLeftOfABlockScalarsIndentationIsRefused(String auth) {
    // libyaml: "found a tab character where an indentation space is expected". SnakeYAML
    // refuses a tab on an otherwise empty line itself, but would keep the others as content.
    String message = reject(file(auth)).getMessage();

    assertTrue(message.matches("conf/nutcracker\\.yml:[56]: invalid YAML: found (a tab character"
        + "|character '\\\\t\\(TAB\\)').*"), message);
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "  redis_auth: |2-\n    \tsecret\n",
      "  redis_auth: |-\n    x\n    \tsecret\n"})
  void aTabAfterABlockScalarsIndentationIsContent(String auth) {
    assertTrue(load(file(auth)).pool("alpha").redisAuth().endsWith("\tsecret"));
  }
}
