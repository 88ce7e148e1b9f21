package walnut.core.config;

import static com.google.common.base.Preconditions.checkArgument;
import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * TLS on a pool's listener (Walnut's {@code tls_*} pool keys): the certificate and key Walnut
 * shows its clients, and, when clients must show one too, the CAs their certificates chain to.
 *
 * @param certFile PEM certificate chain, the leaf first ({@code tls_cert_file})
 * @param keyFile PEM private key of the leaf, PKCS#1 or PKCS#8 ({@code tls_key_file})
 * @param caFile PEM CA bundle for client certificates, or {@code null} ({@code tls_ca_file}):
 *     with it a client certificate is asked for and verified when sent
 * @param clientAuth a client certificate is mandatory ({@code tls_client_auth}); needs
 *     {@code caFile}
 */
public record ListenerTls(Path certFile, Path keyFile, Path caFile, boolean clientAuth) {

  public ListenerTls {
    requireNonNull(certFile, "certFile");
    requireNonNull(keyFile, "keyFile");
    checkArgument(!clientAuth || caFile != null, "tls_client_auth needs tls_ca_file");
  }

  /** The files whose content the context is made of, in a fixed order. */
  public List<Path> files() {
    List<Path> files = new ArrayList<>(List.of(certFile, keyFile));
    if (caFile != null) {
      files.add(caFile);
    }
    return files;
  }
}
