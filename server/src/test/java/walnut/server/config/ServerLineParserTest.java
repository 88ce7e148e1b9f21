package walnut.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import walnut.core.config.Endpoint;
import walnut.core.config.ServerConfig;

/**
 * Server lines, parsed from the right as twemproxy parses them
 * (docs/compatibility.md#server-lines-and-names).
 */
class ServerLineParserTest {

  @ParameterizedTest(name = "{0} -> name {1}")
  @CsvSource(delimiter = '|', value = {
      "127.0.0.1:6379:1              | 127.0.0.1:6379 | 127.0.0.1     | 6379  | 1",
      "127.0.0.1:6379:3 cache-a      | cache-a        | 127.0.0.1     | 6379  | 3",
      "127.0.0.2:11211:1             | 127.0.0.2      | 127.0.0.2     | 11211 | 1",
      "127.0.0.2:11211:1 mc          | mc             | 127.0.0.2     | 11211 | 1",
      "redis.example.com:6380:10     | redis.example.com:6380 | redis.example.com | 6380 | 10",
      "::1:6379:1                    | ::1:6379       | ::1           | 6379  | 1",
      "fe80::1:2:6379:2 v6           | v6             | fe80::1:2     | 6379  | 2",
      "127.0.0.1:6379:1 na:me        | na:me          | 127.0.0.1     | 6379  | 1",
      // twemproxy keeps the port's text in the name: 06379 is not 6379 (nutcracker -t accepts
      // both lines in one pool), while 011211 is still the libmemcached port.
      "127.0.0.1:06379:1             | 127.0.0.1:06379 | 127.0.0.1    | 6379  | 1",
      "127.0.0.1:011211:1            | 127.0.0.1      | 127.0.0.1     | 11211 | 1",
      // nutcracker -t accepts an empty host; the name is then ':port'.
      ":6379:1                       | :6379          | ''            | 6379  | 1",
      "my host:6379:1 name           | name           | my host       | 6379  | 1",
  })
  void aTcpLineGivesHostPortWeightAndTwemproxysName(String line, String name, String host,
      int port, int weight) throws BadValue {
    assertEquals(new ServerConfig(name, Endpoint.tcp(host, port), weight),
        ServerLineParser.parse(line));
  }

  @Test
  void anUnnamedUnixLineIsNamedByItsPathAndAColon() throws BadValue {
    Endpoint socket = Endpoint.unix("/var/run/redis.sock", 0);
    assertEquals(new ServerConfig("/var/run/redis.sock:", socket, 2),
        ServerLineParser.parse("/var/run/redis.sock:2"));
  }

  @Test
  void aNamedUnixLineKeepsItsName() throws BadValue {
    assertEquals(new ServerConfig("local", Endpoint.unix("/tmp/redis.sock", 0), 1),
        ServerLineParser.parse("/tmp/redis.sock:1 local"));
  }

  @Test
  void aTrailingSpaceGivesAnEmptyName() throws BadValue {
    // twemproxy: two such lines clash as "same name ''".
    assertEquals("", ServerLineParser.parse("127.0.0.1:6379:1 ").name());
  }

  @Test
  void theNameIsTheTextAfterTheLastSpaceSoTheWeightMustBeAlone() {
    BadValue e = assertThrows(BadValue.class, () -> ServerLineParser.parse("127.0.0.1:1:1 a b"));
    assertEquals("has an invalid weight in \"hostname:port:weight [name]\" format string",
        e.reason());
  }

  @Test
  void aUnixPathWithAColonHasTooManyFields() {
    BadValue e = assertThrows(BadValue.class, () -> ServerLineParser.parse("/tmp/a:b:1"));
    assertEquals(ServerLineParser.FORMAT, e.reason());
  }

  @Test
  void aNulCharacterCountsAsOneFieldTooMany() {
    // twemproxy's delimiter loop also looks for the C string's NUL.
    assertThrows(BadValue.class, () -> ServerLineParser.parse("a\0b:6379:1"));
  }
}
