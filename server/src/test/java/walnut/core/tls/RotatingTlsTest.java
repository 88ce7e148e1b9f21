package walnut.core.tls;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import walnut.core.config.ListenerTls;
import walnut.core.stats.TlsStats;
import walnut.testing.SecretVolume;
import walnut.testing.TestPki;

/**
 * A context follows its files (docs/compatibility.md#tls): a file replaced by rename or by a
 * Kubernetes {@code ..data} swap makes a new context; a broken replacement keeps the old one,
 * counted once however many checks see it; the fixed file then loads. Both engines.
 */
class RotatingTlsTest {

  private static final TestPki pki = TestPki.shared();

  private static SslProvider provider(TlsEngine engine) {
    return engine.provider();
  }

  @ParameterizedTest
  @EnumSource(value = TlsEngine.class, names = {"OPENSSL", "JDK"})
  void aRenamedCertificateIsLoadedAndABrokenOneIsNot(TlsEngine engine) throws Exception {
    Path dir = Files.createTempDirectory(pki.directory(), "rename");
    Path cert = Files.copy(pki.server().cert(), dir.resolve("tls.crt"));
    Path key = Files.copy(pki.server().key(), dir.resolve("tls.key"));
    TlsStats.Counters counters = new TlsStats().of("p", TlsStats.Side.CLIENT);
    RotatingTls tls = RotatingTls.listener("p", new ListenerTls(cert, key, null, false),
        provider(engine), counters);
    SslContext first = tls.context();
    assertFalse(tls.check(), "nothing changed");
    assertSame(first, tls.context());

    TestPki.Credential next = pki.issueServer();
    SecretVolume.replaceByRename(key, next.key());
    SecretVolume.replaceByRename(cert, next.cert());
    assertTrue(tls.check());
    SslContext second = tls.context();
    assertNotSame(first, second);
    assertEquals(1, counters.reloads());
    assertEquals(TestPki.certificate(next.cert()).getNotAfter().toInstant().getEpochSecond(),
        counters.notAfter());

    Path broken = dir.resolve("broken.crt");
    String pem = Files.readString(pki.server().cert());
    Files.writeString(broken, pem.substring(0, pem.length() / 2));
    SecretVolume.replaceByRename(cert, broken);
    assertFalse(tls.check());
    assertEquals(0, counters.reloadFailures(), "perhaps caught between two renames: not yet");
    assertFalse(tls.check());
    assertFalse(tls.check());
    assertSame(second, tls.context(), "the broken file leaves the context serving");
    assertEquals(1, counters.reloadFailures(), "counted once, not at every check");

    SecretVolume.replaceByRename(cert, pki.server().cert()); // the old key's certificate
    assertFalse(tls.check());
    assertFalse(tls.check(), "a certificate whose key is not in tls.key is refused too");
    assertEquals(2, counters.reloadFailures());
    SecretVolume.replaceByRename(key, pki.server().key());
    assertTrue(tls.check());
    assertEquals(2, counters.reloads());
    assertEquals(2, counters.reloadFailures());
  }

  @Test
  void aFifoADeviceOrAMissingFileInAFilesPlaceIsRefusedWithoutBlockingAndCountedOnce()
      throws Exception {
    Path dir = Files.createTempDirectory(pki.directory(), "odd");
    Path cert = Files.copy(pki.server().cert(), dir.resolve("tls.crt"));
    Path key = Files.copy(pki.server().key(), dir.resolve("tls.key"));
    TlsStats.Counters counters = new TlsStats().of("p", TlsStats.Side.CLIENT);
    RotatingTls tls = RotatingTls.listener("p", new ListenerTls(cert, key, null, false),
        SslProvider.JDK, counters);
    SslContext first = tls.context();

    Files.delete(key);
    Process mkfifo = new ProcessBuilder("mkfifo", key.toString()).start();
    assertEquals(0, mkfifo.waitFor());
    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
      assertFalse(tls.check(), "a FIFO is not opened: opening it would block");
      assertFalse(tls.check());
    });
    assertEquals(1, counters.reloadFailures());
    Files.delete(key);
    Files.copy(pki.server().key(), key);
    assertFalse(tls.check(), "back as it was: nothing to load");

    Files.delete(key);
    Files.createSymbolicLink(key, Path.of("/dev/zero"));
    assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
      assertFalse(tls.check(), "a device is not read: /dev/zero never ends");
      assertFalse(tls.check());
    });
    assertEquals(2, counters.reloadFailures());

    Files.delete(key);
    assertFalse(tls.check(), "deleted, perhaps to be replaced at once: not counted yet");
    assertEquals(2, counters.reloadFailures());
    Files.copy(pki.server().key(), key);
    assertFalse(tls.check(), "back as it was: nothing to load, nothing counted");
    assertEquals(2, counters.reloadFailures());
    assertSame(first, tls.context());
  }

  @ParameterizedTest
  @EnumSource(value = TlsEngine.class, names = {"OPENSSL", "JDK"})
  void aKubernetesSecretSwapIsSeen(TlsEngine engine) throws Exception {
    try (SecretVolume volume = SecretVolume.create(
        Map.of("tls.crt", pki.server().cert(), "tls.key", pki.server().keyPkcs1()))) {
      TlsStats.Counters counters = new TlsStats().of("p", TlsStats.Side.CLIENT);
      RotatingTls tls = RotatingTls.listener("p",
          new ListenerTls(volume.file("tls.crt"), volume.file("tls.key"), null, false),
          provider(engine), counters);
      SslContext first = tls.context();
      TestPki.Credential next = pki.issueServer();
      volume.update(Map.of("tls.crt", next.cert(), "tls.key", next.keyPkcs1()));
      assertTrue(tls.check());
      assertNotSame(first, tls.context());
      assertEquals(0, counters.reloadFailures());
    }
  }
}
