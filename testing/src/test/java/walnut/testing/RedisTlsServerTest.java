package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RedisTlsServerTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(5);
  private static TestPki pki;

  @BeforeAll
  static void makePki() {
    pki = TestPki.create();
  }

  @AfterAll
  static void deletePki() {
    pki.close();
  }

  /** PING on a new TLS connection made by {@code context}, verifying the server as {@code host}. */
  private static Object ping(SSLContext context, int port, String host) throws IOException {
    try (SSLSocket socket = TlsSockets.connect(context, port, host, TIMEOUT)) {
      OutputStream out = socket.getOutputStream();
      Resp.writeCommand(out, "PING");
      out.flush();
      return Resp.readReply(new BufferedInputStream(socket.getInputStream()));
    }
  }

  @Test
  void tlsServerAnswersOverTlsOnly() throws IOException {
    try (RedisServer redis = RedisServer.startTls(ServerTls.serving(pki.server()))) {
      assertTrue(redis.tls());
      assertTrue(redis.toString().startsWith("redis-server[tls 127.0.0.1:"), redis.toString());
      assertEquals("PONG", redis.command("PING"));
      assertEquals("OK", redis.command("SET", "k", "v\u00e9"));
      assertEquals("v\u00e9", redis.command("GET", "k"));
      assertEquals(
          List.of("tls-port", Integer.toString(redis.port())),
          redis.command("CONFIG", "GET", "tls-port"));
      assertEquals(List.of("port", "0"), redis.command("CONFIG", "GET", "port"));
      // The same request in plain text: redis takes it for a bad handshake and hangs up.
      assertThrows(
          UncheckedIOException.class, () -> RedisServer.call(redis.port(), null, TIMEOUT, "PING"));
      SSLContext trusting = TlsSockets.trusting(pki.ca().cert());
      assertEquals("PONG", ping(trusting, redis.port(), "localhost"));
      assertEquals("PONG", ping(trusting, redis.port(), TestPki.SERVER_NAME));
      assertEquals(
          pki.server().serial(),
          TlsSockets.peerCertificate(trusting, redis.port(), "127.0.0.1", TIMEOUT)
              .getSerialNumber());
    }
  }

  @Test
  void aClientTrustingAnotherCaIsRefused() {
    try (RedisServer redis = RedisServer.startTls(ServerTls.serving(pki.server()))) {
      SSLContext other = TlsSockets.trusting(pki.otherCa().cert());
      SSLHandshakeException refused =
          assertThrows(SSLHandshakeException.class, () -> ping(other, redis.port(), "127.0.0.1"));
      assertTrue(refused.getMessage().contains("PKIX"), refused.getMessage());
    }
  }

  @Test
  void aServerWithTheOtherCasCertificateIsRefusedByAClientTrustingTheFirst() throws IOException {
    ServerTls foreign = ServerTls.serving(pki.otherCaServer());
    try (RedisServer redis = RedisServer.startTls(foreign)) {
      assertEquals("PONG", redis.command("PING")); // the fixture trusts the other CA
      SSLContext trusting = TlsSockets.trusting(pki.ca().cert());
      assertThrows(SSLHandshakeException.class, () -> ping(trusting, redis.port(), "127.0.0.1"));
      SSLContext trustingOther = TlsSockets.trusting(pki.otherCa().cert());
      assertEquals("PONG", ping(trustingOther, redis.port(), "localhost"));
    }
  }

  @Test
  void aCertificateForAnotherNameIsRefusedUnlessThatNameIsDialled() throws IOException {
    ServerTls otherName = ServerTls.serving(pki.otherName()).verifiedAs(TestPki.OTHER_NAME);
    try (RedisServer redis = RedisServer.startTls(otherName)) {
      SSLContext trusting = TlsSockets.trusting(pki.ca().cert());
      SSLHandshakeException byIp =
          assertThrows(
              SSLHandshakeException.class, () -> ping(trusting, redis.port(), "127.0.0.1"));
      assertTrue(byIp.getMessage().contains("127.0.0.1"), byIp.getMessage());
      assertThrows(SSLHandshakeException.class, () -> ping(trusting, redis.port(), "localhost"));
      assertEquals("PONG", ping(trusting, redis.port(), TestPki.OTHER_NAME));
    }
  }

  @Test
  void aPkcs1KeyLoads() {
    try (RedisServer redis = RedisServer.startTls(ServerTls.serving(pki.server()).withPkcs1Key())) {
      assertEquals("PONG", redis.command("PING"));
    }
  }

  @Test
  void aDemandedClientCertificateIsPresentedByTheFixtureAndMissedWithout() {
    ServerTls tls = ServerTls.serving(pki.server()).requiringClientCertificate(pki.client());
    try (RedisServer redis = RedisServer.startTls(tls)) {
      assertEquals("PONG", redis.command("PING"));
      assertEquals(
          List.of("tls-auth-clients", "yes"), redis.command("CONFIG", "GET", "tls-auth-clients"));
      // TLS 1.3: the client's handshake ends before the server has checked it, so the refusal
      // shows on the first read at the latest.
      SSLContext anonymous = TlsSockets.trusting(pki.ca().cert());
      assertThrows(IOException.class, () -> ping(anonymous, redis.port(), "127.0.0.1"));
      SSLContext wrongClient = TlsSockets.context(pki.otherCa().cert(), pki.otherCaServer());
      assertThrows(IOException.class, () -> ping(wrongClient, redis.port(), "127.0.0.1"));
    }
  }

  @Test
  void anIssuedCertificateIsServedAfterConfigSetAndABrokenOneIsNot() throws IOException {
    try (RedisServer redis = RedisServer.startTls(ServerTls.serving(pki.server()))) {
      SSLContext trusting = TlsSockets.trusting(pki.ca().cert());
      TestPki.Credential fresh = pki.issueServer();
      Object set =
          redis.command(
              "CONFIG", "SET",
              "tls-cert-file", fresh.cert().toString(),
              "tls-key-file", fresh.keyPkcs1().toString());
      assertEquals("OK", set);
      assertEquals(
          fresh.serial(),
          TlsSockets.peerCertificate(trusting, redis.port(), "127.0.0.1", TIMEOUT)
              .getSerialNumber());
      // A key that is not the certificate's: redis refuses it and keeps serving the last good one.
      Object mismatched =
          redis.command(
              "CONFIG", "SET",
              "tls-cert-file", pki.server().cert().toString(),
              "tls-key-file", fresh.key().toString());
      assertInstanceOf(RedisServer.ErrorReply.class, mismatched);
      assertEquals(
          fresh.serial(),
          TlsSockets.peerCertificate(trusting, redis.port(), "127.0.0.1", TIMEOUT)
              .getSerialNumber());
    }
  }

  @Test
  void aKilledTlsServerRestartsWithTls() {
    try (RedisServer redis = RedisServer.startTls(ServerTls.serving(pki.server()))) {
      int port = redis.port();
      redis.kill();
      assertFalse(redis.isRunning());
      assertThrows(UncheckedIOException.class, () -> redis.command("PING"));
      redis.restart();
      assertEquals(port, redis.port());
      assertEquals("PONG", redis.command("PING"));
    }
  }
}
