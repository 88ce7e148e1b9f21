package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import walnut.testing.SingleTransport;
import walnut.testing.TestPki;

/**
 * {@code bin/walnut -t} on the TLS keys of issue 23, as an operator runs it: a configuration with
 * PKCS#1 and PKCS#8 keys on both sides passes; the mistakes the issue names are refused with a
 * message naming the pool, the key and, where there is one, the file: a missing file, a key that
 * does not belong to the certificate, {@code tls_client_auth} without {@code tls_ca_file}, {@code
 * server_tls_*} without {@code server_tls: true}; and two more no unit test runs: an encrypted key
 * and TLS on a Unix-socket listener. (TlsKeysTest checks every other refusal in-process: a -t run
 * costs a JVM start.) The runs are independent processes, so the set-up runs them two at a time
 * and each test checks one.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@SingleTransport
class TlsConfigCheckIT {

  @TempDir
  static Path tmp;

  private static TestPki pki;
  private static Path missing;
  private static Path encryptedKey;
  private static final Map<String, LauncherIT.Result> results = new LinkedHashMap<>();

  private static String poolAt(String name, String listen, String... keys) {
    StringBuilder b = new StringBuilder(name + ":\n  listen: " + listen + "\n  redis: true\n");
    for (String k : keys) {
      b.append("  ").append(k).append('\n');
    }
    return b.append("  servers:\n   - 127.0.0.1:6379:1\n").toString();
  }

  private static String pool(String name, String... keys) {
    return poolAt(name, "127.0.0.1:22121", keys);
  }

  @BeforeAll
  static void runAll() throws Exception {
    pki = TlsRig.pki();
    TestPki.Credential server = pki.server();
    TestPki.Credential client = pki.client();
    missing = tmp.resolve("no-such-dir").resolve("server.crt");
    encryptedKey = tmp.resolve("encrypted.key");
    TlsRig.Run enc = TlsRig.run(List.of("openssl", "pkey", "-in", server.key().toString(),
        "-aes256", "-passout", "pass:secret", "-out", encryptedKey.toString()), null);
    assertEquals(0, enc.exit(), enc.err());

    Map<String, String> confs = new LinkedHashMap<>();
    confs.put("valid", pool("alpha",
        "tls_cert_file: " + server.cert(), "tls_key_file: " + server.keyPkcs1(),
        "tls_ca_file: " + pki.ca().cert(), "tls_client_auth: true",
        "server_tls: true", "server_tls_ca_file: " + pki.ca().cert(),
        "server_tls_cert_file: " + client.cert(), "server_tls_key_file: " + client.key(),
        "server_tls_server_name: " + TestPki.SERVER_NAME, "server_tls_verify: true")
        + poolAt("beta", "127.0.0.1:22122",
        "tls_cert_file: " + server.cert(), "tls_key_file: " + server.key(),
        "server_tls: true", "server_tls_cert_file: " + client.cert(),
        "server_tls_key_file: " + client.keyPkcs1()));
    confs.put("missing", pool("alpha", "tls_cert_file: " + missing,
        "tls_key_file: " + server.key()));
    confs.put("mismatch", pool("alpha", "tls_cert_file: " + server.cert(),
        "tls_key_file: " + client.key()));
    confs.put("encrypted", pool("alpha", "tls_cert_file: " + server.cert(),
        "tls_key_file: " + encryptedKey));
    confs.put("clientAuthWithoutCa", pool("alpha", "tls_cert_file: " + server.cert(),
        "tls_key_file: " + server.key(), "tls_client_auth: true"));
    confs.put("serverKeysWithoutServerTls", pool("alpha",
        "server_tls_ca_file: " + pki.ca().cert()));
    confs.put("unixListener", poolAt("alpha", tmp.resolve("walnut.sock").toString(),
        "tls_cert_file: " + server.cert(), "tls_key_file: " + server.key()));

    ExecutorService runners = Executors.newFixedThreadPool(2);
    try {
      Map<String, Future<LauncherIT.Result>> running = new LinkedHashMap<>();
      for (Map.Entry<String, String> c : confs.entrySet()) {
        Path conf = Files.writeString(tmp.resolve(c.getKey() + ".yml"), c.getValue());
        running.put(c.getKey(), runners.submit(() -> LauncherIT.walnut("-t", "-c",
            conf.toString())));
      }
      for (Map.Entry<String, Future<LauncherIT.Result>> r : running.entrySet()) {
        results.put(r.getKey(), r.getValue().get());
      }
    } finally {
      runners.shutdownNow();
    }
  }

  /** The -t run of case {@code name} failed, its output naming each of {@code words}. */
  private static String assertRefused(String name, Object... words) {
    LauncherIT.Result r = results.get(name);
    assertEquals(1, r.exit(), name + ": " + r.output());
    assertTrue(r.output().contains("syntax is invalid"), name + ": " + r.output());
    for (Object w : words) {
      assertTrue(r.output().contains(w.toString()), name + ": names " + w + " in\n"
          + r.output());
    }
    return r.output();
  }

  @Test
  void pkcs1AndPkcs8KeysOnBothSidesPass() {
    LauncherIT.Result r = results.get("valid");
    assertEquals(0, r.exit(), r.output());
    assertTrue(r.output().contains("syntax is ok"), r.output());
  }

  @Test
  void aMissingFileIsRefused() {
    assertRefused("missing", "'alpha'", "tls_cert_file", missing);
  }

  @Test
  void aKeyThatDoesNotBelongToTheCertificateIsRefused() {
    String out = assertRefused("mismatch", "'alpha'", "tls_key_file", pki.client().key());
    assertTrue(out.contains(pki.server().cert().toString()) || out.contains("tls_cert_file"),
        "names the certificate too: " + out);
  }

  @Test
  void anEncryptedKeyIsRefusedSayingSo() {
    String out = assertRefused("encrypted", "'alpha'", "tls_key_file", encryptedKey);
    assertTrue(out.toLowerCase().contains("encrypted"), out);
  }

  @Test
  void tlsClientAuthWithoutTlsCaFileIsRefused() {
    assertRefused("clientAuthWithoutCa", "'alpha'", "tls_client_auth", "tls_ca_file");
  }

  @Test
  void serverTlsKeysWithoutServerTlsAreRefused() {
    assertRefused("serverKeysWithoutServerTls", "'alpha'", "server_tls_ca_file", "server_tls");
  }

  @Test
  void tlsOnAUnixSocketListenerIsRefused() {
    assertRefused("unixListener", "'alpha'", "tls_cert_file");
  }
}
