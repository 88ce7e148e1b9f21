package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SecretVolumeTest {
  private static TestPki pki;

  @BeforeAll
  static void makePki() {
    pki = TestPki.create();
  }

  @AfterAll
  static void deletePki() {
    pki.close();
  }

  private static Map<String, Path> files(TestPki.Credential c) {
    return Map.of("tls.crt", c.cert(), "tls.key", c.key());
  }

  private static List<String> entries(Path dir) throws IOException {
    try (Stream<Path> list = Files.list(dir)) {
      return list.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void aVolumeIsLaidOutAsKubeletDoesIt() throws IOException {
    try (SecretVolume volume = SecretVolume.create(files(pki.server()))) {
      Path cert = volume.file("tls.crt");
      assertTrue(Files.isSymbolicLink(cert));
      assertEquals(Path.of("..data", "tls.crt"), Files.readSymbolicLink(cert));
      assertTrue(Files.isSymbolicLink(volume.directory().resolve("..data")));
      assertTrue(
          cert.toRealPath().getParent().getFileName().toString().matches("\\.\\.\\d{4}_.*\\.\\d+"));
      assertEquals(Files.readString(pki.server().cert()), Files.readString(cert));
      assertEquals(pki.server().serial(), TestPki.serialOf(cert));
    }
  }

  @Test
  void anUpdateSwapsEveryFileAtOnceAndLeavesTheVisibleLinksAlone() throws IOException {
    TestPki.Credential fresh = pki.issueServer();
    try (SecretVolume volume = SecretVolume.create(files(pki.server()))) {
      Path realBefore = volume.file("tls.crt").toRealPath();
      volume.update(files(fresh));
      assertEquals(fresh.serial(), TestPki.serialOf(volume.file("tls.crt")));
      assertEquals(Files.readString(fresh.key()), Files.readString(volume.file("tls.key")));
      assertEquals(Path.of("..data", "tls.crt"), Files.readSymbolicLink(volume.file("tls.crt")));
      assertFalse(Files.exists(realBefore), "the old timestamped directory is deleted");
      List<String> entries = entries(volume.directory());
      assertEquals(4, entries.size(), entries.toString()); // ..<new>, ..data, tls.crt, tls.key
      assertTrue(entries.containsAll(List.of("..data", "tls.crt", "tls.key")), entries.toString());
      assertFalse(entries.contains("..data_tmp"), entries.toString());
    }
  }

  @Test
  void replaceByRenameSwapsTheFileWholeAndAnOpenReaderKeepsTheOld() throws IOException {
    Path dir = Files.createTempDirectory("walnut-rename-");
    try {
      Path target = dir.resolve("server.crt");
      Files.copy(pki.server().cert(), target);
      TestPki.Credential fresh = pki.issueServer();
      try (InputStream old = Files.newInputStream(target)) {
        SecretVolume.replaceByRename(target, fresh.cert());
        assertEquals(Files.readString(pki.server().cert()), new String(old.readAllBytes()));
      }
      assertEquals(fresh.serial(), TestPki.serialOf(target));
      assertEquals(List.of("server.crt"), entries(dir)); // no temporary file left behind
    } finally {
      ServerProcess.deleteRecursively(dir);
    }
  }

  @Test
  void aRealServerReloadingTheVisiblePathsServesTheSwappedCertificate() throws IOException {
    TestPki.Credential fresh = pki.issueServer();
    try (SecretVolume volume = SecretVolume.create(files(pki.server()))) {
      TestPki.Credential mounted =
          new TestPki.Credential(
              "mounted",
              volume.file("tls.crt"),
              volume.file("tls.key"),
              pki.server().keyPkcs1(),
              pki.ca().cert(),
              pki.server().serial());
      try (RedisServer redis = RedisServer.startTls(ServerTls.serving(mounted))) {
        SSLContext trusting = TlsSockets.trusting(pki.ca().cert());
        Duration timeout = Duration.ofSeconds(5);
        assertEquals(
            pki.server().serial(),
            TlsSockets.peerCertificate(trusting, redis.port(), "127.0.0.1", timeout)
                .getSerialNumber());
        volume.update(files(fresh));
        // The same paths, read again: redis re-reads files on CONFIG SET.
        Object reload =
            redis.command(
                "CONFIG", "SET",
                "tls-cert-file", volume.file("tls.crt").toString(),
                "tls-key-file", volume.file("tls.key").toString());
        assertEquals("OK", reload);
        assertEquals(
            fresh.serial(),
            TlsSockets.peerCertificate(trusting, redis.port(), "127.0.0.1", timeout)
                .getSerialNumber());
      }
    }
  }
}
