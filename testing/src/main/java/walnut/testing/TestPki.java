package walnut.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A throw-away public-key infrastructure for TLS tests, made with the {@code openssl} command in a
 * private temporary directory: what a deployment would be given, as PEM files.
 *
 * <p>Contract: {@link #create()} returns with every file below written; {@link #close()} deletes
 * the directory. All keys are RSA 2048, each written twice: PKCS#8 ({@code BEGIN PRIVATE KEY},
 * {@link Credential#key()}) and PKCS#1 ({@code BEGIN RSA PRIVATE KEY}, {@link
 * Credential#keyPkcs1()}). Certificates are valid from the moment of creation for a week.
 *
 * <ul>
 *   <li>{@link #ca()} — the test CA, self-signed;
 *   <li>{@link #server()} — a server certificate from it, for {@code 127.0.0.1}, {@code localhost}
 *       and {@link #SERVER_NAME} (subject alternative names; {@code extendedKeyUsage serverAuth});
 *   <li>{@link #client()} — a client certificate from it ({@code clientAuth});
 *   <li>{@link #otherName()} — a server certificate from it for {@link #OTHER_NAME} only: refused
 *       by a client that verifies the name it dialled;
 *   <li>{@link #otherCa()} and {@link #otherCaServer()} — a second CA and a server certificate
 *       from it with the same names as {@link #server()}: refused by a client trusting only {@link
 *       #ca()};
 *   <li>{@link #issueServer()} — a further server certificate like {@link #server()}, with a fresh
 *       key and a serial never used before, for rotation tests.
 * </ul>
 *
 * <p>Serials are unique within one {@code TestPki} (one CA each). Thread-safe: {@link
 * #issueServer()} may be called from any thread. If {@code openssl} is not installed, {@code
 * create} fails and says how to install it.
 */
public final class TestPki implements AutoCloseable {
  /**
   * A dotted name on {@link #server()}: clients send SNI only for such names (JDK and Netty both
   * skip {@code localhost} and IP literals), so SNI tests dial this one.
   */
  public static final String SERVER_NAME = "server.walnut.test";

  /** The only name on {@link #otherName()}. */
  public static final String OTHER_NAME = "other.walnut.test";

  private static final Duration OPENSSL_TIMEOUT = Duration.ofSeconds(30);
  private static final String DAYS = "7";
  private static final String SERVER_SANS =
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:" + SERVER_NAME;

  // Extensions are spelled out here so that the system's openssl.cnf cannot change them.
  private static final String CONFIG =
      String.join(
          "\n",
          "[req]",
          "distinguished_name = dn",
          "[dn]",
          "[ca]",
          "basicConstraints = critical, CA:TRUE",
          "keyUsage = critical, keyCertSign, cRLSign",
          "subjectKeyIdentifier = hash",
          "[server]",
          "basicConstraints = critical, CA:FALSE",
          "keyUsage = critical, digitalSignature, keyEncipherment",
          "extendedKeyUsage = serverAuth",
          "subjectKeyIdentifier = hash",
          "authorityKeyIdentifier = keyid",
          "[client]",
          "basicConstraints = critical, CA:FALSE",
          "keyUsage = critical, digitalSignature, keyEncipherment",
          "extendedKeyUsage = clientAuth",
          "subjectKeyIdentifier = hash",
          "authorityKeyIdentifier = keyid",
          "");

  /**
   * One certificate and its key, as files. {@code issuer} is the certificate of the CA that signed
   * it (itself, for a CA): the file a peer must trust to accept {@code cert}.
   */
  public record Credential(
      String name, Path cert, Path key, Path keyPkcs1, Path issuer, BigInteger serial) {}

  private static TestPki shared;

  private final Path dir;
  private final Path openssl;
  private final Path config;
  private final AtomicLong nextSerial = new AtomicLong(0x1000);
  private final AtomicLong nextLog = new AtomicLong();
  private final AtomicLong issued = new AtomicLong();
  private final Credential ca;
  private final Credential server;
  private final Credential client;
  private final Credential otherName;
  private final Credential otherCa;
  private final Credential otherCaServer;

  private TestPki(Path dir, Path openssl) throws IOException {
    this.dir = dir;
    this.openssl = openssl;
    this.config = dir.resolve("openssl.cnf");
    Files.writeString(config, CONFIG);
    // Key generation is most of the cost: make all six keys at once.
    List<String> names =
        List.of("ca", "server", "client", "other-name", "other-ca", "other-server");
    runAll(names.stream().map(this::generateKey).toList());
    ca = selfSigned("ca", "Walnut test CA");
    otherCa = selfSigned("other-ca", "Walnut other test CA");
    server = signed("server", "localhost", "server", SERVER_SANS, ca);
    client = signed("client", "walnut-test-client", "client", null, ca);
    otherName = signed("other-name", OTHER_NAME, "server", "subjectAltName=DNS:" + OTHER_NAME, ca);
    otherCaServer = signed("other-server", "localhost", "server", SERVER_SANS, otherCa);
    runAll(names.stream().map(this::pkcs1Copy).toList());
  }

  /**
   * The test JVM's CA and certificates, made once (openssl takes one to three seconds) and deleted
   * when the JVM exits, for tests that only read them or add files of their own names (and
   * {@link #issueServer()}, which makes new files). Never {@link #close()} it.
   */
  public static synchronized TestPki shared() {
    if (shared == null) {
      TestPki made = create();
      Runtime.getRuntime().addShutdownHook(new Thread(made::close, "test-pki-cleanup"));
      shared = made;
    }
    return shared;
  }

  /** Makes the CA, certificates and keys described in the class comment. */
  public static TestPki create() {
    Path openssl = UnixProcesses.locate("openssl", "openssl");
    Path dir;
    try {
      dir = Files.createTempDirectory("walnut-pki-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory for the test PKI", e);
    }
    try {
      return new TestPki(dir, openssl);
    } catch (IOException | RuntimeException e) {
      ServerProcess.deleteRecursively(dir);
      if (e instanceof IOException io) {
        throw new UncheckedIOException("cannot make the test PKI in " + dir, io);
      }
      throw (RuntimeException) e;
    }
  }

  /** The directory holding every file; gone after {@link #close()}. */
  public Path directory() {
    return dir;
  }

  public Credential ca() {
    return ca;
  }

  public Credential server() {
    return server;
  }

  public Credential client() {
    return client;
  }

  public Credential otherName() {
    return otherName;
  }

  public Credential otherCa() {
    return otherCa;
  }

  public Credential otherCaServer() {
    return otherCaServer;
  }

  /**
   * A new server certificate from {@link #ca()} with the names of {@link #server()}, a fresh key
   * and a serial not used before; its files are new ones in {@link #directory()}, so a rotation
   * test moves or links them into place itself.
   */
  public Credential issueServer() {
    String name = "server-" + issued.incrementAndGet();
    try {
      runAll(List.of(generateKey(name)));
      Credential issued = signed(name, "localhost", "server", SERVER_SANS, ca);
      runAll(List.of(pkcs1Copy(name)));
      return issued;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot issue " + name, e);
    }
  }

  /** The serial number of the (first) certificate in a PEM file. */
  public static BigInteger serialOf(Path certFile) {
    return certificate(certFile).getSerialNumber();
  }

  /** The (first) certificate in a PEM file. */
  public static X509Certificate certificate(Path certFile) {
    try (InputStream in = Files.newInputStream(certFile)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + certFile, e);
    } catch (CertificateException e) {
      throw new IllegalArgumentException(certFile + " holds no certificate", e);
    }
  }

  /** Deletes the directory and every file in it. Idempotent. */
  @Override
  public void close() {
    ServerProcess.deleteRecursively(dir);
  }

  private List<String> generateKey(String name) {
    return List.of(
        "genpkey", "-quiet", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
        "-out", dir.resolve(name + ".key").toString());
  }

  private List<String> pkcs1Copy(String name) {
    // OpenSSL 3 writes PKCS#8 by default; -traditional gives the PKCS#1 "RSA PRIVATE KEY" form.
    return List.of(
        "pkey", "-traditional",
        "-in", dir.resolve(name + ".key").toString(),
        "-out", dir.resolve(name + ".pkcs1.key").toString());
  }

  private Credential selfSigned(String name, String commonName) throws IOException {
    BigInteger serial = BigInteger.valueOf(nextSerial.getAndIncrement());
    Path cert = dir.resolve(name + ".crt");
    runAll(
        List.of(
            List.of(
                "req", "-new", "-x509", "-config", config.toString(), "-extensions", "ca",
                "-key", dir.resolve(name + ".key").toString(), "-subj", "/CN=" + commonName,
                "-set_serial", "0x" + serial.toString(16), "-days", DAYS,
                "-out", cert.toString())));
    return credential(name, cert, cert, serial);
  }

  private Credential signed(
      String name, String commonName, String extensions, String sans, Credential issuer)
      throws IOException {
    BigInteger serial = BigInteger.valueOf(nextSerial.getAndIncrement());
    Path cert = dir.resolve(name + ".crt");
    List<String> command =
        new ArrayList<>(
            List.of(
                "req", "-new", "-x509", "-config", config.toString(), "-extensions", extensions,
                "-key", dir.resolve(name + ".key").toString(), "-subj", "/CN=" + commonName,
                "-CA", issuer.cert().toString(), "-CAkey", issuer.key().toString(),
                "-set_serial", "0x" + serial.toString(16), "-days", DAYS, "-out", cert.toString()));
    if (sans != null) {
      command.addAll(List.of("-addext", sans));
    }
    runAll(List.of(command));
    return credential(name, cert, issuer.cert(), serial);
  }

  private Credential credential(String name, Path cert, Path issuer, BigInteger serial) {
    return new Credential(
        name, cert, dir.resolve(name + ".key"), dir.resolve(name + ".pkcs1.key"), issuer, serial);
  }

  /**
   * Runs each {@code openssl} command as its own process, all at once, and returns when all have
   * succeeded; fails with the output of the first that did not, killing the rest.
   */
  private void runAll(List<List<String>> commands) throws IOException {
    List<Process> processes = new ArrayList<>();
    List<Path> logs = new ArrayList<>();
    try {
      for (List<String> args : commands) {
        List<String> command = new ArrayList<>();
        command.add(openssl.toString());
        command.addAll(args);
        Path log = dir.resolve("openssl-" + nextLog.getAndIncrement() + ".log");
        logs.add(log);
        processes.add(
            new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start());
      }
      for (int i = 0; i < processes.size(); i++) {
        Process p = processes.get(i);
        String command = "openssl " + String.join(" ", commands.get(i));
        if (!UnixProcesses.exited(p, OPENSSL_TIMEOUT)) {
          throw new IllegalStateException(command + " did not finish in " + OPENSSL_TIMEOUT);
        }
        if (p.exitValue() != 0) {
          throw new IllegalStateException(
              command + " exited with " + p.exitValue() + ":\n"
                  + Files.readString(logs.get(i), StandardCharsets.UTF_8));
        }
      }
    } finally {
      for (Process p : processes) {
        p.destroyForcibly(); // no-op for those that exited; by pid, only our own
      }
      for (Path log : logs) {
        Files.deleteIfExists(log);
      }
    }
  }
}
