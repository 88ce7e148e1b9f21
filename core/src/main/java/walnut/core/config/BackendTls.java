package walnut.core.config;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * TLS to a pool's servers (Walnut's {@code server_tls: true} and the {@code server_tls_*} keys).
 *
 * @param caFile PEM CA bundle server certificates must chain to, or {@code null} for the JDK's
 *     trust store ({@code server_tls_ca_file})
 * @param certFile Walnut's client certificate chain, or {@code null} ({@code server_tls_cert_file})
 * @param keyFile its private key, PKCS#1 or PKCS#8 ({@code server_tls_key_file})
 * @param serverName the name sent as SNI and checked against every server's certificate, or
 *     {@code null} for the host of each server line ({@code server_tls_server_name})
 * @param verify whether server certificates are checked at all ({@code server_tls_verify})
 */
public record BackendTls(Path caFile, Path certFile, Path keyFile, String serverName,
    boolean verify) {

  public BackendTls {
    checkArgument((certFile == null) == (keyFile == null),
        "server_tls_cert_file and server_tls_key_file go together");
    checkArgument(serverName == null || !serverName.isEmpty(), "server_tls_server_name is empty");
  }

  /** Every server over TLS, verified against the JDK's trust store and each server's host. */
  public static BackendTls defaults() {
    return new BackendTls(null, null, null, null, true);
  }

  /** The files whose content the context is made of, in a fixed order. */
  public List<Path> files() {
    List<Path> files = new ArrayList<>();
    if (caFile != null) {
      files.add(caFile);
    }
    if (certFile != null) {
      files.add(certFile);
      files.add(keyFile);
    }
    return files;
  }

  /** The name a connection to a server at {@code host} verifies: the configured one, or host. */
  public String nameFor(String host) {
    return serverName != null ? serverName : host;
  }
}
