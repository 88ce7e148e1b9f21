package walnut.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.Base64;
import java.util.Collection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * Plain JDK TLS clients for tests, built from the PEM files of a {@link TestPki}: what the server
 * fixtures use to check that a TLS server answers, and what a test uses to talk to one directly.
 *
 * <p>Everything here verifies the server as a careful client would: the chain against the given CA
 * file only (never the JDK's trust store) and the name dialled against the certificate's subject
 * alternative names (endpoint identification {@code HTTPS}; an IP literal is matched against IP
 * entries). Stateless and thread-safe.
 */
public final class TlsSockets {
  private static final char[] NO_PASSWORD = new char[0];

  private TlsSockets() {}

  /** A client context trusting only the certificates in {@code caFile}, presenting none. */
  public static SSLContext trusting(Path caFile) {
    return context(caFile, null);
  }

  /**
   * A client context trusting only the certificates in {@code caFile} and presenting {@code
   * client} (its PKCS#8 key) when a server asks; {@code client} null presents none.
   */
  public static SSLContext context(Path caFile, TestPki.Credential client) {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      int i = 0;
      for (Certificate ca : certificates(caFile)) {
        trust.setCertificateEntry("ca-" + i++, ca);
      }
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      KeyManagerFactory kmf = null;
      if (client != null) {
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry(
            "client",
            pkcs8Key(client.key()),
            NO_PASSWORD,
            certificates(client.cert()).toArray(new Certificate[0]));
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, NO_PASSWORD);
      }
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
      return context;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read TLS files", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot build a TLS context from " + caFile, e);
    }
  }

  /**
   * Connects to {@code 127.0.0.1:port} and completes a TLS handshake, verifying the server as
   * {@code peerHost} (also sent as SNI when it is a dotted name). {@code timeout} bounds the
   * connect, the handshake and, as the socket's read timeout, every later read. The caller closes
   * the socket. Throws {@link IOException} as the JDK does: {@link
   * javax.net.ssl.SSLHandshakeException} for a certificate refused on either side, {@link
   * java.net.SocketTimeoutException} for a silent server.
   */
  public static SSLSocket connect(SSLContext context, int port, String peerHost, Duration timeout)
      throws IOException {
    int millis = (int) Math.max(1, timeout.toMillis());
    Socket plain = new Socket();
    try {
      plain.connect(new InetSocketAddress(ServerFixture.HOST, port), millis);
      plain.setSoTimeout(millis);
      plain.setTcpNoDelay(true);
      SSLSocket socket =
          (SSLSocket) context.getSocketFactory().createSocket(plain, peerHost, port, true);
      SSLParameters parameters = socket.getSSLParameters();
      parameters.setEndpointIdentificationAlgorithm("HTTPS");
      socket.setSSLParameters(parameters);
      socket.startHandshake();
      return socket;
    } catch (IOException | RuntimeException e) {
      plain.close();
      throw e;
    }
  }

  /**
   * The certificate a TLS server on {@code 127.0.0.1:port} presents now, after a handshake that
   * verifies it as described in {@link #connect}; for rotation tests, which compare serials.
   */
  public static X509Certificate peerCertificate(
      SSLContext context, int port, String peerHost, Duration timeout) throws IOException {
    try (SSLSocket socket = connect(context, port, peerHost, timeout)) {
      return (X509Certificate) socket.getSession().getPeerCertificates()[0];
    }
  }

  private static Collection<? extends Certificate> certificates(Path pem)
      throws IOException, GeneralSecurityException {
    try (InputStream in = Files.newInputStream(pem)) {
      Collection<? extends Certificate> all =
          CertificateFactory.getInstance("X.509").generateCertificates(in);
      if (all.isEmpty() || !(all.iterator().next() instanceof X509Certificate)) {
        throw new GeneralSecurityException(pem + " holds no X.509 certificate");
      }
      return all;
    }
  }

  /** An RSA key from a PKCS#8 PEM file ({@code BEGIN PRIVATE KEY}), which the JDK reads. */
  private static PrivateKey pkcs8Key(Path pem) throws IOException, GeneralSecurityException {
    String text = Files.readString(pem, StandardCharsets.US_ASCII);
    String begin = "-----BEGIN PRIVATE KEY-----";
    String end = "-----END PRIVATE KEY-----";
    int from = text.indexOf(begin);
    int to = text.indexOf(end);
    if (from < 0 || to < from) {
      throw new GeneralSecurityException(pem + " holds no PKCS#8 key (" + begin + ")");
    }
    byte[] der = Base64.getMimeDecoder().decode(text.substring(from + begin.length(), to));
    return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
  }
}
