package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SignatureException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TestPkiTest {
  private static TestPki pki;

  @BeforeAll
  static void makePki() {
    pki = TestPki.create();
  }

  @AfterAll
  static void deletePki() {
    pki.close();
  }

  private static List<TestPki.Credential> all() {
    return List.of(
        pki.ca(), pki.server(), pki.client(), pki.otherName(), pki.otherCa(), pki.otherCaServer());
  }

  private static List<String> names(X509Certificate cert) throws CertificateParsingException {
    List<String> names = new ArrayList<>();
    for (List<?> san : cert.getSubjectAlternativeNames()) {
      names.add(san.get(0) + ":" + san.get(1)); // 2 = DNS, 7 = IP
    }
    return names;
  }

  private static String firstLine(Path file) throws Exception {
    return Files.readAllLines(file, StandardCharsets.US_ASCII).get(0);
  }

  @Test
  void everyKeyIsWrittenInPkcs8AndPkcs1() throws Exception {
    for (TestPki.Credential c : all()) {
      assertTrue(c.cert().startsWith(pki.directory()), c.name());
      assertEquals("-----BEGIN CERTIFICATE-----", firstLine(c.cert()), c.name());
      assertEquals("-----BEGIN PRIVATE KEY-----", firstLine(c.key()), c.name());
      assertEquals("-----BEGIN RSA PRIVATE KEY-----", firstLine(c.keyPkcs1()), c.name());
      assertEquals(c.serial(), TestPki.serialOf(c.cert()), c.name());
    }
  }

  @Test
  void serialsAreUnique() {
    Set<BigInteger> serials = new HashSet<>();
    for (TestPki.Credential c : all()) {
      assertTrue(serials.add(c.serial()), "serial reused: " + c.name());
    }
  }

  @Test
  void certificatesChainToTheirOwnCaOnly() throws Exception {
    X509Certificate ca = TestPki.certificate(pki.ca().cert());
    X509Certificate otherCa = TestPki.certificate(pki.otherCa().cert());
    assertTrue(ca.getBasicConstraints() >= 0, "the CA is a CA");
    assertEquals(pki.ca().cert(), pki.ca().issuer());
    ca.verify(ca.getPublicKey());
    for (TestPki.Credential c : List.of(pki.server(), pki.client(), pki.otherName())) {
      X509Certificate cert = TestPki.certificate(c.cert());
      assertEquals(pki.ca().cert(), c.issuer(), c.name());
      assertEquals(-1, cert.getBasicConstraints(), c.name() + " is no CA");
      cert.verify(ca.getPublicKey());
      assertThrows(SignatureException.class, () -> cert.verify(otherCa.getPublicKey()), c.name());
    }
    X509Certificate foreign = TestPki.certificate(pki.otherCaServer().cert());
    assertEquals(pki.otherCa().cert(), pki.otherCaServer().issuer());
    foreign.verify(otherCa.getPublicKey());
    assertThrows(SignatureException.class, () -> foreign.verify(ca.getPublicKey()));
  }

  @Test
  void namesAndUsagesAreWhatTlsTestsNeed() throws Exception {
    List<String> serverNames = List.of("7:127.0.0.1", "2:localhost", "2:" + TestPki.SERVER_NAME);
    X509Certificate server = TestPki.certificate(pki.server().cert());
    assertEquals(serverNames, names(server));
    assertEquals(List.of("1.3.6.1.5.5.7.3.1"), server.getExtendedKeyUsage()); // serverAuth
    assertEquals(serverNames, names(TestPki.certificate(pki.otherCaServer().cert())));
    assertEquals(
        List.of("2:" + TestPki.OTHER_NAME), names(TestPki.certificate(pki.otherName().cert())));
    X509Certificate client = TestPki.certificate(pki.client().cert());
    assertEquals(List.of("1.3.6.1.5.5.7.3.2"), client.getExtendedKeyUsage()); // clientAuth
  }

  @Test
  void issuedServerCertificatesHaveFreshSerialsAndKeys() throws Exception {
    TestPki.Credential first = pki.issueServer();
    TestPki.Credential second = pki.issueServer();
    for (TestPki.Credential c : List.of(first, second)) {
      assertNotEquals(pki.server().serial(), c.serial());
      assertNotEquals(pki.server().cert(), c.cert());
      assertEquals(pki.ca().cert(), c.issuer());
      assertEquals("-----BEGIN RSA PRIVATE KEY-----", firstLine(c.keyPkcs1()));
      X509Certificate cert = TestPki.certificate(c.cert());
      cert.verify(TestPki.certificate(pki.ca().cert()).getPublicKey());
      assertEquals(names(TestPki.certificate(pki.server().cert())), names(cert));
    }
    assertNotEquals(first.serial(), second.serial());
    assertFalse(
        Files.readString(first.key()).equals(Files.readString(second.key())), "fresh keys");
  }

  @Test
  void issuingFromTwoThreadsGivesDistinctFiles() throws Exception {
    CompletableFuture<TestPki.Credential> other = CompletableFuture.supplyAsync(pki::issueServer);
    TestPki.Credential mine = pki.issueServer();
    TestPki.Credential theirs = other.get(60, TimeUnit.SECONDS);
    assertNotEquals(mine.serial(), theirs.serial());
    assertNotEquals(mine.cert(), theirs.cert());
    assertEquals(mine.serial(), TestPki.serialOf(mine.cert()));
    assertEquals(theirs.serial(), TestPki.serialOf(theirs.cert()));
  }

  @Test
  void clientKeyAndCertificateBuildAContext() throws Exception {
    // A JDK TLS server with the server credential, and a client presenting the client one: the
    // server sees the client's certificate, so both PKCS#8 keys match their certificates.
    SSLContext serverSide = TlsSockets.context(pki.ca().cert(), pki.server());
    try (SSLServerSocket listener =
        (SSLServerSocket)
            serverSide
                .getServerSocketFactory()
                .createServerSocket(0, 1, InetAddress.getByName(ServerFixture.HOST))) {
      listener.setNeedClientAuth(true);
      CompletableFuture<X509Certificate> seen =
          CompletableFuture.supplyAsync(
              () -> {
                try (SSLSocket accepted = (SSLSocket) listener.accept()) {
                  accepted.setSoTimeout(5000);
                  accepted.startHandshake();
                  return (X509Certificate) accepted.getSession().getPeerCertificates()[0];
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      X509Certificate served =
          TlsSockets.peerCertificate(
              TlsSockets.context(pki.ca().cert(), pki.client()),
              listener.getLocalPort(),
              TestPki.SERVER_NAME,
              Duration.ofSeconds(5));
      assertEquals(pki.server().serial(), served.getSerialNumber());
      assertEquals(pki.client().serial(), seen.get(10, TimeUnit.SECONDS).getSerialNumber());
    }
  }

  @Test
  void closeDeletesTheDirectory() {
    TestPki own = TestPki.create();
    Path dir = own.directory();
    assertTrue(Files.isRegularFile(own.server().keyPkcs1()));
    own.close();
    assertFalse(Files.exists(dir));
    own.close(); // idempotent
  }
}
