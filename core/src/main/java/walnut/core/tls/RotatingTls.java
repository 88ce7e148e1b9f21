package walnut.core.tls;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.BackendTls;
import walnut.core.config.ListenerTls;
import walnut.core.stats.TlsStats;

/**
 * One pool's TLS context for one side, made from its files and made again when they change
 * (docs/compatibility.md#tls): {@link #context()} is what the next handshake uses; connections
 * already established keep theirs. {@link #check()} reads the files again; a change that does
 * not make a working context (a half-written file, a key that is not the certificate's) leaves
 * the context in use alone, is logged once and counted.
 *
 * <p>Thread-safe: event loops read {@link #context()}; one watcher thread (or a reload) checks.
 */
public final class RotatingTls {

  private static final Logger log = LoggerFactory.getLogger(RotatingTls.class);
  /** A certificate, key or CA file larger than this is not one. */
  private static final int MAX_FILE = 1 << 20;

  static {
    // As OpenSSL (BoringSSL) does: a client may not renegotiate a TLS 1.2 session, which would
    // make Walnut do a handshake's work again and again on one connection. Read by the JDK at
    // its first server handshake; an operator's own setting is kept.
    if (System.getProperty("jdk.tls.rejectClientInitiatedRenegotiation") == null) {
      System.setProperty("jdk.tls.rejectClientInitiatedRenegotiation", "true");
    }
  }

  /** A context and what it was made from. */
  private record Loaded(SslContext context, byte[] digest, X509Certificate certificate) {}

  /** Makes a context from the files' contents, in {@link #files} order. */
  private interface Maker {
    Loaded make(List<byte[]> contents, byte[] digest) throws SSLException;
  }

  private final String pool;
  private final TlsStats.Side side;
  private final List<Path> files;
  private final Maker maker;
  private final TlsStats.Counters counters;
  private final AtomicReference<Loaded> current = new AtomicReference<>();
  /** The digest of files that failed once: failing again, they are refused. */
  private byte[] failing;
  /** The digest of the files last refused, so that one bad file is logged once. */
  private byte[] refused;
  /** When the next refused handshake may be logged (System.nanoTime), once a second. */
  private final AtomicLong nextLog = new AtomicLong(Long.MIN_VALUE);

  private RotatingTls(String pool, TlsStats.Side side, List<Path> files, Maker maker,
      TlsStats.Counters counters) {
    this.pool = pool;
    this.side = side;
    this.files = List.copyOf(files);
    this.maker = maker;
    this.counters = counters;
  }

  /** The listener's context of pool {@code pool}; throws when its files do not make one. */
  public static RotatingTls listener(String pool, ListenerTls tls, SslProvider provider,
      TlsStats.Counters counters) {
    RotatingTls r = new RotatingTls(pool, TlsStats.Side.CLIENT, tls.files(), (contents, digest) -> {
      List<X509Certificate> chain = PemFiles.certificates(contents.get(0), "tls_cert_file "
          + tls.certFile());
      PrivateKey key = PemFiles.privateKey(contents.get(1), "tls_key_file " + tls.keyFile());
      PemFiles.checkPair(key, chain.get(0), "tls_key_file " + tls.keyFile(),
          "tls_cert_file " + tls.certFile());
      SslContextBuilder b = SslContextBuilder.forServer(key, chain.toArray(X509Certificate[]::new))
          .sslProvider(provider);
      if (tls.caFile() != null) {
        b.trustManager(PemFiles.certificates(contents.get(2), "tls_ca_file " + tls.caFile()))
            .clientAuth(tls.clientAuth() ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
      }
      return new Loaded(b.build(), digest, chain.get(0));
    }, counters);
    r.load();
    return r;
  }

  /** The context of pool {@code pool}'s connections to its servers; throws like listener. */
  public static RotatingTls backend(String pool, BackendTls tls, SslProvider provider,
      TlsStats.Counters counters) {
    RotatingTls r = new RotatingTls(pool, TlsStats.Side.SERVER, tls.files(), (contents, digest) -> {
      int next = 0;
      SslContextBuilder b = SslContextBuilder.forClient().sslProvider(provider);
      if (!tls.verify()) {
        b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
      } else {
        b.endpointIdentificationAlgorithm("HTTPS");
      }
      if (tls.caFile() != null) {
        List<X509Certificate> cas = PemFiles.certificates(contents.get(next++),
            "server_tls_ca_file " + tls.caFile());
        if (tls.verify()) {
          b.trustManager(cas);
        }
      }
      X509Certificate own = null;
      if (tls.certFile() != null) {
        List<X509Certificate> chain = PemFiles.certificates(contents.get(next++),
            "server_tls_cert_file " + tls.certFile());
        PrivateKey key = PemFiles.privateKey(contents.get(next),
            "server_tls_key_file " + tls.keyFile());
        PemFiles.checkPair(key, chain.get(0), "server_tls_key_file " + tls.keyFile(),
            "server_tls_cert_file " + tls.certFile());
        b.keyManager(key, chain.toArray(X509Certificate[]::new));
        own = chain.get(0);
      }
      return new Loaded(b.build(), digest, own);
    }, counters);
    r.load();
    return r;
  }

  /** What the next handshake uses. */
  public SslContext context() {
    return current.get().context();
  }

  public TlsStats.Counters counters() {
    return counters;
  }

  /**
   * Whether a refused handshake may be logged now: one line a second per pool and side, so a
   * scanner or a misconfigured fleet cannot flood the log (the counter counts them all).
   */
  public boolean mayLog() {
    long now = System.nanoTime();
    long next = nextLog.get();
    return (next == Long.MIN_VALUE || now - next >= 0)
        && nextLog.compareAndSet(next, now + 1_000_000_000L);
  }

  /** Made for the first time: a problem is the caller's to report (start or reload fails). */
  private void load() {
    List<byte[]> contents = read();
    Loaded loaded = make(contents, digest(contents));
    current.set(loaded);
    counters.loaded(notAfter(loaded));
    warnIfExpired(loaded);
  }

  /**
   * Reads the files again and, when they changed, makes the context new handshakes use; returns
   * whether it did. A change that fails at two checks in a row is logged once (until the files
   * change again) and counted; every check tries again.
   */
  public synchronized boolean check() {
    List<byte[]> contents;
    try {
      contents = read();
    } catch (IllegalArgumentException e) {
      // A file between its deletion and its replacement: failing at two checks, it counts.
      failed(digest(List.of(e.getMessage().getBytes(StandardCharsets.UTF_8))), e);
      return false;
    }
    byte[] digest = digest(contents);
    Loaded before = current.get();
    if (Arrays.equals(digest, before.digest())) {
      failing = null;
      refused = null;
      return false;
    }
    Loaded loaded;
    try {
      loaded = make(contents, digest);
    } catch (IllegalArgumentException e) {
      failed(digest, e);
      return false;
    }
    current.set(loaded);
    failing = null;
    refused = null;
    counters.reloaded(notAfter(loaded));
    log.info("pool '{}': {} TLS {} reloaded{}; new handshakes use {}", pool, side.label(),
        loaded.certificate() == null ? "files" : "certificate", describeChange(before, loaded),
        loaded.certificate() == null ? "them" : "it");
    warnIfExpired(loaded);
    return true;
  }

  /**
   * The files, whose contents (or whose reading's error) have {@code digest}, did not make a
   * context. A pair may be caught half-replaced (the certificate renamed in, the key not yet):
   * only the same failure at the next check too counts; every check retries.
   */
  private void failed(byte[] digest, Exception e) {
    if (Arrays.equals(digest, failing)) {
      refuse(digest, e);
    }
    failing = digest;
  }

  private void refuse(byte[] digest, Exception e) {
    if (Arrays.equals(digest, refused)) {
      return;
    }
    refused = digest;
    counters.reloadFailed();
    String why = e.getMessage();
    if (why.startsWith("pool '" + pool + "': ")) {
      why = why.substring(pool.length() + 9);
    }
    log.warn("pool '{}': {} TLS files changed but were not reloaded, the ones loaded before keep"
        + " serving: {}", pool, side.label(), why);
  }

  private Loaded make(List<byte[]> contents, byte[] digest) {
    try {
      return maker.make(contents, digest);
    } catch (SSLException e) {
      throw new IllegalArgumentException("pool '" + pool + "': " + side.label()
          + " TLS context: " + TlsErrors.reason(e), e);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("pool '" + pool + "': " + e.getMessage(), e);
    }
  }

  /**
   * Every file's content. Only regular files (after symlinks) are opened, so a FIFO, a device or
   * a directory put in a file's place can neither block the reader nor fill the heap; and no
   * more than {@link #MAX_FILE} bytes are read of any.
   */
  private List<byte[]> read() {
    List<byte[]> contents = new ArrayList<>(files.size());
    for (Path file : files) {
      try {
        if (!Files.isRegularFile(file)) {
          throw new IllegalArgumentException("pool '" + pool + "': " + file + (Files.exists(file)
              ? ": not a regular file" : ": no such file"));
        }
        byte[] content;
        try (InputStream in = Files.newInputStream(file)) {
          content = in.readNBytes(MAX_FILE + 1);
        }
        if (content.length > MAX_FILE) {
          throw new IllegalArgumentException("pool '" + pool + "': " + file
              + ": larger than 1 MiB, not a certificate or key file");
        }
        contents.add(content);
      } catch (IOException e) {
        throw new IllegalArgumentException("pool '" + pool + "': cannot read " + file + ": "
            + e, e);
      }
    }
    return contents;
  }

  private static byte[] digest(List<byte[]> contents) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (byte[] content : contents) {
        sha.update(Integer.toString(content.length).getBytes(StandardCharsets.US_ASCII));
        sha.update((byte) 0);
        sha.update(content);
      }
      return sha.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static long notAfter(Loaded loaded) {
    return loaded.certificate() == null ? 0
        : loaded.certificate().getNotAfter().toInstant().getEpochSecond();
  }

  private static String describeChange(Loaded before, Loaded after) {
    if (after.certificate() == null) {
      return "";
    }
    // In hex, as openssl x509 -serial prints it.
    String serial = after.certificate().getSerialNumber().toString(16);
    String was = before.certificate() == null ? null
        : before.certificate().getSerialNumber().toString(16);
    return ": serial " + serial
        + (was != null && !Objects.equals(was, serial) ? " (was " + was + ")" : "")
        + ", valid until " + after.certificate().getNotAfter().toInstant();
  }

  private void warnIfExpired(Loaded loaded) {
    if (loaded.certificate() != null
        && loaded.certificate().getNotAfter().toInstant().isBefore(java.time.Instant.now())) {
      log.warn("pool '{}': the {} TLS certificate expired at {}", pool, side.label(),
          loaded.certificate().getNotAfter().toInstant());
    }
  }
}
