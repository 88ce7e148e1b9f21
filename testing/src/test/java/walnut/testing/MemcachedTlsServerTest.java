package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MemcachedTlsServerTest {
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

  /** {@code version} on a new TLS connection made by {@code context}: its reply line. */
  private static String version(SSLContext context, int port, String host) throws IOException {
    try (SSLSocket socket = TlsSockets.connect(context, port, host, TIMEOUT)) {
      OutputStream out = socket.getOutputStream();
      out.write("version\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return Resp.readLine(new BufferedInputStream(socket.getInputStream()));
    }
  }

  @Test
  void tlsServerAnswersOverTlsOnly() throws IOException {
    try (MemcachedServer memcached = MemcachedServer.startTls(ServerTls.serving(pki.server()))) {
      assertTrue(memcached.tls());
      assertTrue(memcached.command("version").startsWith("VERSION "));
      assertTrue(memcached.set("k", "v\u00e9"));
      assertEquals("v\u00e9", memcached.get("k"));
      assertNull(memcached.get("missing"));
      assertTrue(memcached.command("stats settings").contains("STAT ssl_enabled yes\r\n"));
      SSLContext trusting = TlsSockets.trusting(pki.ca().cert());
      assertTrue(version(trusting, memcached.port(), "127.0.0.1").startsWith("VERSION "));
      assertTrue(version(trusting, memcached.port(), TestPki.SERVER_NAME).startsWith("VERSION "));
      // The same request in plain text gets no reply: memcached takes it for a bad handshake.
      try (Socket plain = new Socket()) {
        plain.connect(new InetSocketAddress(memcached.host(), memcached.port()), 5000);
        plain.setSoTimeout(5000);
        plain.getOutputStream().write("version\r\n".getBytes(StandardCharsets.US_ASCII));
        InputStream in = plain.getInputStream();
        assertThrows(IOException.class, () -> Resp.readLine(in));
      }
    }
  }

  @Test
  void aClientTrustingAnotherCaIsRefused() {
    try (MemcachedServer memcached = MemcachedServer.startTls(ServerTls.serving(pki.server()))) {
      SSLContext other = TlsSockets.trusting(pki.otherCa().cert());
      assertThrows(
          SSLHandshakeException.class, () -> version(other, memcached.port(), "127.0.0.1"));
    }
  }

  @Test
  void aServerWithTheOtherCasCertificateIsRefusedByAClientTrustingTheFirst() {
    ServerTls foreign = ServerTls.serving(pki.otherCaServer());
    try (MemcachedServer memcached = MemcachedServer.startTls(foreign)) {
      assertTrue(memcached.command("version").startsWith("VERSION "));
      SSLContext trusting = TlsSockets.trusting(pki.ca().cert());
      assertThrows(
          SSLHandshakeException.class, () -> version(trusting, memcached.port(), "127.0.0.1"));
    }
  }

  @Test
  void aCertificateForAnotherNameIsRefusedUnlessThatNameIsDialled() throws IOException {
    ServerTls otherName = ServerTls.serving(pki.otherName()).verifiedAs(TestPki.OTHER_NAME);
    try (MemcachedServer memcached = MemcachedServer.startTls(otherName)) {
      SSLContext trusting = TlsSockets.trusting(pki.ca().cert());
      assertThrows(
          SSLHandshakeException.class, () -> version(trusting, memcached.port(), "127.0.0.1"));
      assertTrue(
          version(trusting, memcached.port(), TestPki.OTHER_NAME).startsWith("VERSION "));
    }
  }

  @Test
  void aPkcs1KeyLoads() {
    ServerTls tls = ServerTls.serving(pki.server()).withPkcs1Key();
    try (MemcachedServer memcached = MemcachedServer.startTls(tls)) {
      assertTrue(memcached.command("version").startsWith("VERSION "));
    }
  }

  @Test
  void aDemandedClientCertificateIsPresentedByTheFixtureAndMissedWithout() {
    ServerTls tls = ServerTls.serving(pki.server()).requiringClientCertificate(pki.client());
    try (MemcachedServer memcached = MemcachedServer.startTls(tls)) {
      // Twice: the second connection resumes the first one's session.
      assertTrue(memcached.command("version").startsWith("VERSION "));
      assertTrue(memcached.command("version").startsWith("VERSION "));
      SSLContext anonymous = TlsSockets.trusting(pki.ca().cert());
      assertThrows(IOException.class, () -> version(anonymous, memcached.port(), "127.0.0.1"));
    }
  }

  @Test
  void aKilledTlsServerRestartsWithTls() {
    try (MemcachedServer memcached = MemcachedServer.startTls(ServerTls.serving(pki.server()))) {
      int port = memcached.port();
      memcached.set("k", "v");
      memcached.kill();
      assertThrows(UncheckedIOException.class, () -> memcached.command("version"));
      memcached.restart();
      assertEquals(port, memcached.port());
      assertNull(memcached.get("k"));
    }
  }
}
