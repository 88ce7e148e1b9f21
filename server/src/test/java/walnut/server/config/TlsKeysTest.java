package walnut.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.config.Fixtures.load;
import static walnut.server.config.Fixtures.reject;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import walnut.core.config.BackendTls;
import walnut.core.config.ListenerTls;
import walnut.core.config.PoolConfig;
import walnut.testing.TestPki;

/**
 * What {@code -t} says of issue #23's TLS keys: each key needs its partners, booleans are
 * booleans, and the files must make a context: readable PEM, every key its certificate's. A
 * pool without them is plain TCP, as in twemproxy.
 */
class TlsKeysTest {

  private static final TestPki pki = TestPki.shared();

  private static String listener(String... more) {
    String[] lines = new String[more.length + 2];
    lines[0] = "tls_cert_file: " + pki.server().cert();
    lines[1] = "tls_key_file: " + pki.server().key();
    System.arraycopy(more, 0, lines, 2, more.length);
    return Fixtures.pool(lines);
  }

  @Test
  void aPoolWithoutTlsKeysIsPlain() {
    PoolConfig pool = load(Fixtures.pool("redis: true")).pool("alpha");
    assertNull(pool.tls());
    assertNull(pool.serverTls());
  }

  @Test
  void aListenerWithCertificateKeyAndClientAuthLoads() {
    PoolConfig pool = load(listener("tls_ca_file: " + pki.ca().cert(), "tls_client_auth: true"))
        .pool("alpha");
    assertEquals(new ListenerTls(pki.server().cert(), pki.server().key(), pki.ca().cert(), true),
        pool.tls());
    assertNull(pool.serverTls());
  }

  @Test
  void pkcs1KeysLoadOnBothSides() {
    String yaml = Fixtures.pool("tls_cert_file: " + pki.server().cert(),
        "tls_key_file: " + pki.server().keyPkcs1(), "server_tls: true",
        "server_tls_cert_file: " + pki.client().cert(),
        "server_tls_key_file: " + pki.client().keyPkcs1());
    PoolConfig pool = load(yaml).pool("alpha");
    assertEquals(pki.server().keyPkcs1(), pool.tls().keyFile());
    assertEquals(pki.client().keyPkcs1(), pool.serverTls().keyFile());
  }

  @Test
  void serverTlsAloneVerifiesWithTheJdkTrustStoreAndEachHost() {
    PoolConfig pool = load(Fixtures.pool("server_tls: true")).pool("alpha");
    assertEquals(BackendTls.defaults(), pool.serverTls());
    assertEquals("10.0.0.1", pool.serverTls().nameFor("10.0.0.1"));
  }

  @Test
  void everyServerKeyLoads() {
    PoolConfig pool = load(Fixtures.pool("server_tls: true",
        "server_tls_ca_file: " + pki.ca().cert(), "server_tls_server_name: cache.example.com",
        "server_tls_verify: false")).pool("alpha");
    BackendTls tls = pool.serverTls();
    assertEquals(pki.ca().cert(), tls.caFile());
    assertEquals("cache.example.com", tls.nameFor("10.0.0.1"));
    assertFalse(tls.verify());
  }

  @Test
  void serverTlsFalseIsPlain() {
    assertNull(load(Fixtures.pool("server_tls: false")).pool("alpha").serverTls());
  }

  static Stream<Arguments> refused() throws Exception {
    Path empty = Files.createTempFile(pki.directory(), "empty", ".pem");
    Path truncated = pki.directory().resolve("truncated.crt");
    String pem = Files.readString(pki.server().cert());
    Files.writeString(truncated, pem.substring(0, pem.length() / 2));
    return Stream.of(
        Arguments.of(Fixtures.pool("tls_cert_file: " + pki.server().cert()), 3,
            "directive \"tls_cert_file:\" needs tls_key_file too"),
        Arguments.of(Fixtures.pool("tls_key_file: " + pki.server().key()), 3,
            "directive \"tls_key_file:\" needs tls_cert_file too"),
        Arguments.of(Fixtures.pool("tls_ca_file: " + pki.ca().cert()), 3,
            "directive \"tls_ca_file:\" is only valid with tls_cert_file and tls_key_file"),
        Arguments.of(listener("tls_client_auth: true"), 5,
            "directive \"tls_client_auth:\" needs tls_ca_file"),
        Arguments.of(listener("tls_client_auth: maybe"), 5, "'maybe' is not \"true\" or"),
        Arguments.of(Fixtures.pool("server_tls_ca_file: " + pki.ca().cert()), 3,
            "directive \"server_tls_ca_file:\" is only valid with server_tls: true"),
        Arguments.of(Fixtures.pool("server_tls: false", "server_tls_verify: false"), 4,
            "directive \"server_tls_verify:\" is only valid with server_tls: true"),
        Arguments.of(Fixtures.pool("server_tls: true",
            "server_tls_cert_file: " + pki.client().cert()), 4,
            "directive \"server_tls_cert_file:\" needs server_tls_key_file too"),
        Arguments.of(Fixtures.pool("tls_cert_file: /nonexistent/walnut.crt",
            "tls_key_file: " + pki.server().key()), 3,
            "directive \"tls_cert_file:\" /nonexistent/walnut.crt: no such file"),
        Arguments.of(Fixtures.pool("tls_cert_file: " + pki.server().cert(),
            "tls_key_file: " + pki.client().key()), 3,
            "the private key does not belong to the certificate"),
        Arguments.of(Fixtures.pool("tls_cert_file: " + truncated,
            "tls_key_file: " + pki.server().key()), 3, "truncated.crt: no PEM certificate"),
        Arguments.of(Fixtures.pool("tls_cert_file: " + pki.server().cert(),
            "tls_key_file: " + empty), 3, "no PEM private key in it"),
        Arguments.of(Fixtures.pool("tls_cert_file: " + pki.server().key(),
            "tls_key_file: " + pki.server().key()), 3, "no PEM certificate in it"),
        Arguments.of(Fixtures.pool("server_tls: true", "server_tls_ca_file: " + empty), 3,
            "server_tls_ca_file " + empty + ": no PEM certificate in it"),
        Arguments.of(Fixtures.pool("server_tls: true",
            "server_tls_cert_file: " + pki.client().cert(),
            "server_tls_key_file: " + pki.server().keyPkcs1()), 3,
            "server_tls_key_file " + pki.server().keyPkcs1() + ": the private key does not"));
  }

  @ParameterizedTest(name = "[{index}] line {1}: {2}")
  @MethodSource("refused")
  void aMissingPartnerOrABadFileIsRefusedWithItsLine(String yaml, int line, String reason) {
    String message = reject(yaml).getMessage();
    String where = Fixtures.FILE + ":" + line + ":";
    assertTrue(message.startsWith(where), () -> "expected " + where + "... but got " + message);
    assertTrue(message.contains(reason), () -> "expected '" + reason + "' in " + message);
  }
}
