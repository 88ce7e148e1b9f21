package walnut.core.tls;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.util.Locale;

/**
 * Which TLS implementation does the handshakes and the encryption ({@code --tls-provider}):
 * OpenSSL (BoringSSL, from {@code netty-tcnative-boringssl-static}), faster and lighter on the
 * heap, or the JDK's {@code SSLEngine}, which needs no native library. {@link #AUTO} takes
 * OpenSSL when it loads.
 */
public enum TlsEngine {
  AUTO,
  OPENSSL,
  JDK;

  /** The engine {@code name} ({@code auto}, {@code openssl} or {@code jdk}) names. */
  public static TlsEngine named(String name) {
    for (TlsEngine engine : values()) {
      if (engine.name().toLowerCase(Locale.ROOT).equals(name)) {
        return engine;
      }
    }
    throw new IllegalArgumentException("option --tls-provider value '" + name
        + "' is not valid (expected: auto, openssl or jdk)");
  }

  /** Netty's provider for this choice; {@link #OPENSSL} fails when the library cannot load. */
  public SslProvider provider() {
    return switch (this) {
      case JDK -> SslProvider.JDK;
      case OPENSSL -> {
        if (!OpenSsl.isAvailable()) {
          throw new IllegalStateException("--tls-provider openssl: OpenSSL cannot be loaded: "
              + OpenSsl.unavailabilityCause(), OpenSsl.unavailabilityCause());
        }
        yield SslProvider.OPENSSL;
      }
      case AUTO -> OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    };
  }

  /** What the log says at start about the engine in use. */
  public String describe() {
    SslProvider provider = provider();
    if (provider == SslProvider.OPENSSL) {
      return "OpenSSL (" + OpenSsl.versionString() + ")";
    }
    return "JDK (" + System.getProperty("java.vm.vendor") + " " + Runtime.version() + ")"
        + (this == AUTO ? ", as OpenSSL cannot be loaded: " + OpenSsl.unavailabilityCause()
            : "");
  }
}
