package walnut.core.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;
import walnut.testing.TestPki;

/**
 * PEM reading without BouncyCastle (docs/compatibility.md#tls): PKCS#1 and SEC1 keys are the same
 * keys as their PKCS#8 form, encrypted keys are refused with what to do, and a key is checked
 * against its certificate. Here in the server module, where {@link TestPki} is (it needs
 * openssl); the class is core's.
 */
class PemFilesTest {

  private static final TestPki pki = TestPki.shared();

  private static byte[] read(Path file) throws Exception {
    return Files.readAllBytes(file);
  }

  private static Path openssl(String name, String... args) throws Exception {
    Path out = pki.directory().resolve(name);
    List<String> command = new java.util.ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    command.addAll(List.of("-out", out.toString()));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), output);
    return out;
  }

  @Test
  void aPkcs1KeyIsTheSameKeyAsItsPkcs8Form() throws Exception {
    PrivateKey pkcs8 = PemFiles.privateKey(read(pki.server().key()), "k8");
    PrivateKey pkcs1 = PemFiles.privateKey(read(pki.server().keyPkcs1()), "k1");
    assertTrue(new String(read(pki.server().keyPkcs1())).contains("BEGIN RSA PRIVATE KEY"));
    assertArrayEquals(pkcs8.getEncoded(), pkcs1.getEncoded());
    PemFiles.checkPair(pkcs1, PemFiles.certificates(read(pki.server().cert()), "c").get(0),
        "k1", "c");
  }

  @Test
  void aSec1EcKeyLoadsAndMatchesItsCertificate() throws Exception {
    Path key = openssl("ec.key", "ecparam", "-name", "prime256v1", "-genkey", "-noout");
    assertTrue(Files.readString(key).contains("BEGIN EC PRIVATE KEY"));
    Path cert = openssl("ec.crt", "req", "-x509", "-key", key.toString(), "-subj", "/CN=ec",
        "-days", "1");
    PrivateKey ec = PemFiles.privateKey(read(key), "ec.key");
    assertEquals("EC", ec.getAlgorithm());
    PemFiles.checkPair(ec, PemFiles.certificates(read(cert), "ec.crt").get(0), "ec.key",
        "ec.crt");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PemFiles.checkPair(ec, PemFiles.certificates(read(pki.server().cert()), "rsa.crt")
            .get(0), "ec.key", "rsa.crt"));
    assertTrue(e.getMessage().contains("ec.key: the private key does not belong to the"
        + " certificate in rsa.crt"), e.getMessage());
  }

  @Test
  void encryptedKeysAreRefusedWithTheCommandThatDecryptsThem() throws Exception {
    Path encrypted = openssl("enc.key", "pkcs8", "-topk8", "-in", pki.server().key().toString(),
        "-passout", "pass:secret");
    Path legacy = openssl("legacy.key", "rsa", "-aes128", "-traditional", "-in",
        pki.server().key().toString(), "-passout", "pass:secret");
    for (Path key : List.of(encrypted, legacy)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> PemFiles.privateKey(read(key), key.toString()));
      assertTrue(e.getMessage().contains("the private key is encrypted")
          && e.getMessage().contains("openssl pkcs8 -topk8 -nocrypt"), e.getMessage());
    }
  }

  @Test
  void aKeyOfAnotherCertificateIsRefused() throws Exception {
    X509Certificate server = PemFiles.certificates(read(pki.server().cert()), "s").get(0);
    PrivateKey client = PemFiles.privateKey(read(pki.client().key()), "client.key");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PemFiles.checkPair(client, server, "client.key", "server.crt"));
    assertTrue(e.getMessage().startsWith("client.key: the private key does not belong to the"
        + " certificate in server.crt"), e.getMessage());
  }

  @Test
  void aChainFileGivesEveryCertificateInOrder() throws Exception {
    byte[] chain = (Files.readString(pki.server().cert()) + "# comment between\n"
        + Files.readString(pki.ca().cert())).getBytes();
    List<X509Certificate> certs = PemFiles.certificates(chain, "chain.pem");
    assertEquals(2, certs.size());
    assertEquals(pki.server().serial(), certs.get(0).getSerialNumber());
    assertEquals(certs.get(1).getSubjectX500Principal(), certs.get(0).getIssuerX500Principal());
  }

  @Test
  void twoKeysInOneFileAreRefused() throws Exception {
    byte[] two = (Files.readString(pki.server().key()) + Files.readString(pki.client().key()))
        .getBytes();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PemFiles.privateKey(two, "two.key"));
    assertEquals("two.key: more than one private key in it", e.getMessage());
  }
}
