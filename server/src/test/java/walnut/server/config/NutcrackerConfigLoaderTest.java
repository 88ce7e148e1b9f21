package walnut.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.config.Fixtures.load;
import static walnut.server.config.Fixtures.pool;
import static walnut.server.config.Fixtures.reject;
import static walnut.server.config.Fixtures.servers;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.config.ServerConfig;

class NutcrackerConfigLoaderTest {

  @Test
  void aPoolWithOnlyListenAndServersGetsTwemproxyDefaults() {
    PoolConfig pool = load(pool()).pool("alpha");

    assertEquals(Endpoint.tcp("127.0.0.1", 22121), pool.listen());
    assertEquals("fnv1a_64", pool.hash());
    assertNull(pool.hashTag());
    assertEquals("ketama", pool.distribution());
    assertEquals(-1, pool.timeout());
    assertEquals(512, pool.backlog());
    assertEquals(0, pool.clientConnections());
    assertFalse(pool.redis());
    assertNull(pool.redisAuth());
    assertEquals(0, pool.redisDb());
    assertFalse(pool.preconnect());
    assertFalse(pool.autoEjectHosts());
    assertEquals(1, pool.serverConnections());
    assertEquals(30_000, pool.serverRetryTimeout());
    assertEquals(2, pool.serverFailureLimit());
    assertFalse(pool.tcpKeepalive());
    assertEquals(List.of(new ServerConfig("127.0.0.1:6379", Endpoint.tcp("127.0.0.1", 6379), 1)),
        pool.servers());
  }

  @Test
  void everyKeyIsReadIntoThePool() {
    PoolConfig pool = load(pool(
        "hash: murmur",
        "hash_tag: \"{}\"",
        "distribution: modula",
        "timeout: 400",
        "backlog: 1024",
        "client_connections: 100",
        "redis: true",
        "redis_auth: s3cret",
        "redis_db: 3",
        "preconnect: true",
        "auto_eject_hosts: true",
        "server_connections: 4",
        "server_retry_timeout: 2147483647",
        "server_failure_limit: 0",
        "tcpkeepalive: true",
        "reuseport: true")).pool("alpha");

    assertEquals("murmur", pool.hash());
    assertEquals("{}", pool.hashTag());
    assertEquals("modula", pool.distribution());
    assertEquals(400, pool.timeout());
    assertEquals(1024, pool.backlog());
    assertEquals(100, pool.clientConnections(), "a per-pool limit (twemproxy drops the value)");
    assertTrue(pool.redis());
    assertEquals("s3cret", pool.redisAuth());
    assertEquals(3, pool.redisDb());
    assertTrue(pool.preconnect());
    assertTrue(pool.autoEjectHosts());
    assertEquals(4, pool.serverConnections());
    assertEquals(Integer.MAX_VALUE, pool.serverRetryTimeout());
    assertEquals(0, pool.serverFailureLimit());
    assertTrue(pool.tcpKeepalive());
  }

  @Test
  void quotingDoesNotChangeAValue() {
    PoolConfig plain = load(pool("timeout: 7", "redis: true", "hash: crc16")).pool("alpha");
    PoolConfig quoted = load(pool("timeout: \"7\"", "redis: 'true'", "hash: \"crc\\x31\\x36\""))
        .pool("alpha");

    assertEquals(plain, quoted);
  }

  @Test
  void zeroTimeoutAndLeadingZerosAreNumbers() {
    PoolConfig pool = load(pool("timeout: 0", "backlog: 0007")).pool("alpha");

    assertEquals(0, pool.timeout());
    assertEquals(7, pool.backlog());
  }

  @Test
  void aTwoByteCharacterIsAValidHashTagAndKeepsItsBytes() {
    // nutcracker -t accepts hash_tag: 'é' (two UTF-8 bytes); keys are matched byte-wise.
    PoolConfig pool = load(pool("hash_tag: 'é'")).pool("alpha");

    assertEquals(2, pool.hashTagBytes().length);
    assertEquals((byte) 0xc3, pool.hashTagBytes()[0]);
    assertEquals((byte) 0xa9, pool.hashTagBytes()[1]);
  }

  @Test
  void reuseportIsAcceptedAsAWalnutExtension() {
    // twemproxy 0.5.0: directive "reuseport" is unknown; twemproxy master: a boolean.
    assertEquals(load(pool()), load(pool("reuseport: false")));
    assertTrue(load(pool("reuseport: true")).pool("alpha").reuseport());
    assertTrue(reject(pool("reuseport: yes")).getMessage()
        .contains("directive \"reuseport\": 'yes' is not \"true\" or \"false\""));
  }

  @Test
  void maxRequestSizeIsAWalnutExtensionInBytesOrWithAUnit() {
    assertEquals(PoolConfig.DEFAULT_MEMCACHE_MAX_REQUEST_SIZE,
        load(pool()).pool("alpha").maxRequestSize());
    assertEquals(PoolConfig.DEFAULT_REDIS_MAX_REQUEST_SIZE,
        load(pool("redis: true")).pool("alpha").maxRequestSize());
    assertEquals(4096, load(pool("max_request_size: 4096")).pool("alpha").maxRequestSize());
    assertEquals(2L << 20, load(pool("max_request_size: 2m")).pool("alpha").maxRequestSize());
    assertEquals(64L << 10, load(pool("max_request_size: 64K")).pool("alpha").maxRequestSize());
    assertEquals(1L << 30, load(pool("max_request_size: 1g")).pool("alpha").maxRequestSize());
    for (String bad : List.of("0", "2g", "-1", "1.5m", "m", "1mb")) {
      String message = reject(pool("max_request_size: " + bad)).getMessage();
      assertTrue(message.contains("directive \"max_request_size\": '" + bad + "' is not a size"),
          message);
    }
  }

  @Test
  void serversAreSortedByNameLengthThenBytes() {
    ProxyConfig config = load(servers(
        "127.0.0.1:31001:1 zeta",
        "127.0.0.1:31002:1 alpha",
        "127.0.0.1:31003:2 b",
        "127.0.0.1:31004:1 beta2"));

    assertEquals(List.of("b", "zeta", "alpha", "beta2"),
        config.pool("alpha").servers().stream().map(ServerConfig::name).toList());
  }

  @Test
  void poolsAreSortedByNameLengthThenBytes() {
    String yaml = pool().replace("alpha", "gamma")
        + pool().replace("alpha", "b").replace("22121", "22122")
        + pool().replace("alpha", "alpha2").replace("22121", "22123");

    assertEquals(List.of("b", "gamma", "alpha2"),
        load(yaml).pools().stream().map(PoolConfig::name).toList());
  }

  @Test
  void aUnixListenerKeepsItsPathAndOctalPermission() {
    assertEquals(Endpoint.unix("/tmp/walnut.sock", 0640),
        load(pool().replace("127.0.0.1:22121", "\"/tmp/walnut.sock 0640\"")).pool("alpha")
            .listen());
  }

  @Test
  void anIpv6ListenerSplitsAtTheLastColon() {
    assertEquals(Endpoint.tcp("::1", 22121),
        load(pool().replace("127.0.0.1:22121", "::1:22121")).pool("alpha").listen());
  }

  @Test
  void aListAndAPlainValueAreHandledByTheirKeysWhateverTheKey() {
    // nutcracker -t accepts this: twemproxy dispatches list items by the list's key, and the
    // one list a pool needs need not be servers:.
    PoolConfig pool = load("alpha:\n  listen:\n   - 127.0.0.1:22121\n"
        + "  servers: 127.0.0.1:6379:1\n").pool("alpha");

    assertEquals(Endpoint.tcp("127.0.0.1", 22121), pool.listen());
    assertEquals("127.0.0.1:6379", pool.servers().get(0).name());
  }

  @Test
  void aComplexKeyIsAnOrdinaryKey() {
    // nutcracker -t accepts "? hash" / ": crc16".
    assertEquals("crc16", load(pool("? hash", ": crc16")).pool("alpha").hash());
  }

  @Test
  void knownNamesAreCheckedWithTheLineWhenTheLoaderIsGivenThem() {
    NutcrackerConfigLoader loader = new NutcrackerConfigLoader(Fixtures.NO_DNS,
        Set.of("fnv1a_64", "crc16"), Set.of("ketama", "modula"));

    assertEquals("crc16", loader.readText(pool("hash: crc16"), "x.yml").pool("alpha").hash());
    ConfigException hash = assertThrows(ConfigException.class,
        () -> loader.readText(pool("hash: fnv1a64"), "x.yml"));
    assertEquals("x.yml:3: pool 'alpha': directive \"hash\": 'fnv1a64' is not a valid hash"
        + " (known: crc16, fnv1a_64)", hash.getMessage());
    ConfigException distribution = assertThrows(ConfigException.class,
        () -> loader.readText(pool("distribution: Ketama"), "x.yml"));
    assertTrue(distribution.getMessage().contains("x.yml:3: pool 'alpha': directive"
        + " \"distribution\": 'Ketama' is not a valid distribution"));
  }

  @Test
  void thePublicEntryPointsResolveTheListenHostWithTheSystemResolver(@TempDir Path dir)
      throws Exception {
    for (String listen : List.of("127.0.0.1:22121", "::1:22121", "localhost:22121")) {
      String yaml = pool().replace("127.0.0.1:22121", listen);
      assertEquals(listen, NutcrackerConfigLoader.parse(yaml, "x.yml").pool("alpha").listen()
          .toString());
    }
    Path file = dir.resolve("nutcracker.yml");
    Files.writeString(file, pool("hash: crc16"), StandardCharsets.UTF_8);
    assertEquals("crc16", NutcrackerConfigLoader.load(file).pool("alpha").hash());
    ConfigException e = assertThrows(ConfigException.class,
        () -> NutcrackerConfigLoader.load(file, Set.of("murmur"), Set.of("ketama")));
    assertTrue(e.getMessage().startsWith(file + ":3: pool 'alpha': directive \"hash\": 'crc16'"
        + " is not a valid hash (known: murmur)"), e.getMessage());
  }

  @Test
  void withoutKnownNamesAnyNonEmptyHashIsKeptForThePluginRegistry() {
    assertEquals("my_custom_hash", load(pool("hash: my_custom_hash")).pool("alpha").hash());
  }

  @Test
  void loadReadsAFileAndNamesItInMessages(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("nutcracker.yml");
    Files.writeString(file, pool(), StandardCharsets.UTF_8);
    assertEquals(load(pool()), Fixtures.loader().readFile(file));

    Files.writeString(file, pool("timeout: soon"), StandardCharsets.UTF_8);
    ConfigException e = assertThrows(ConfigException.class, () -> Fixtures.loader().readFile(file));
    assertEquals(file + ":3: pool 'alpha': directive \"timeout\": 'soon' is not a number"
        + " (expected: digits only, 0..2147483647)", e.getMessage());
  }

  @Test
  void aMissingFileIsAConfigException(@TempDir Path dir) {
    Path file = dir.resolve("absent.yml");
    ConfigException e = assertThrows(ConfigException.class, () -> Fixtures.loader().readFile(file));
    assertEquals(file + ": failed to open configuration: No such file or directory",
        e.getMessage());
  }

  @Test
  void aFileThatIsNotUtf8IsRefused(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("latin1.yml");
    Files.write(file, pool("redis_auth: caf\u00e9", "redis: true")
        .getBytes(StandardCharsets.ISO_8859_1));
    ConfigException e = assertThrows(ConfigException.class, () -> Fixtures.loader().readFile(file));
    assertTrue(e.getMessage().contains("is not valid UTF-8"), e.getMessage());
  }

  @Test
  void messagesStayOnOneLine() {
    ConfigException e = reject(pool("timeout: |", "  7", "  8"));
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }
}
