package walnut.testing;

import java.nio.file.Path;
import java.util.Objects;
import javax.net.ssl.SSLContext;

/**
 * How a server fixture speaks TLS ({@link RedisServer#startTls}, {@link MemcachedServer#startTls}):
 * the certificate it serves, the key file it loads, and, optionally, a client certificate it
 * demands of every client. The fixture's own readiness check and {@code command} calls speak TLS
 * too, through {@link #clientContext()}: they trust only {@code server.issuer()} and present
 * {@code client} when one is demanded.
 *
 * @param server the certificate served
 * @param serverKey the key file the server loads: {@code server.key()} (PKCS#8) unless {@link
 *     #withPkcs1Key()} chose {@code server.keyPkcs1()}
 * @param client null for no client authentication; otherwise the server demands a certificate
 *     issued by {@code client.issuer()}, and the fixture presents this one
 * @param peerHost the name the fixture verifies the certificate against: {@code 127.0.0.1}
 *     unless {@link #verifiedAs} chose another, as a certificate for another name needs
 */
public record ServerTls(
    TestPki.Credential server, Path serverKey, TestPki.Credential client, String peerHost) {
  public ServerTls {
    Objects.requireNonNull(server, "server");
    Objects.requireNonNull(serverKey, "serverKey");
    Objects.requireNonNull(peerHost, "peerHost");
  }

  /**
   * Serves {@code server} with its PKCS#8 key; clients need no certificate; the fixture verifies
   * the certificate as {@code 127.0.0.1}.
   */
  public static ServerTls serving(TestPki.Credential server) {
    return new ServerTls(server, server.key(), null, ServerFixture.HOST);
  }

  /** The same, with the server loading its PKCS#1 key file instead. */
  public ServerTls withPkcs1Key() {
    return new ServerTls(server, server.keyPkcs1(), client, peerHost);
  }

  /** The same, with the server demanding a client certificate issued by {@code client.issuer()}. */
  public ServerTls requiringClientCertificate(TestPki.Credential client) {
    return new ServerTls(server, serverKey, Objects.requireNonNull(client, "client"), peerHost);
  }

  /**
   * The same, with the fixture verifying the certificate as {@code name}, e.g. {@link
   * TestPki#OTHER_NAME} for {@link TestPki#otherName()}.
   */
  public ServerTls verifiedAs(String name) {
    return new ServerTls(server, serverKey, client, name);
  }

  /** The CA file a server demanding client certificates verifies them with; null if it does not. */
  public Path clientCa() {
    return client == null ? null : client.issuer();
  }

  /** The context the fixture itself talks to the server with (see the class comment). */
  public SSLContext clientContext() {
    return TlsSockets.context(server.issuer(), client);
  }

  Dial dial() {
    return new Dial(clientContext(), peerHost);
  }
}
