package walnut.core.tls;

import java.util.ArrayList;
import java.util.List;

/** What went wrong in a TLS handshake, for a log line. */
public final class TlsErrors {

  private TlsErrors() {}

  /**
   * Every distinct message of {@code cause}'s chain, outermost first: OpenSSL's engine says only
   * "General OpenSslEngine problem" on top and the reason (an unknown CA, another name) below.
   */
  public static String reason(Throwable cause) {
    List<String> parts = new ArrayList<>();
    for (Throwable t = cause; t != null && parts.size() < 6; t = t.getCause()) {
      String message = t.getMessage();
      if (message == null || message.equals("General OpenSslEngine problem")) {
        continue;
      }
      if (parts.stream().noneMatch(p -> p.contains(message))) {
        parts.removeIf(message::contains);
        parts.add(message);
      }
      if (t.getCause() == t) {
        break;
      }
    }
    return parts.isEmpty() ? cause.getClass().getSimpleName() : String.join(": ", parts);
  }
}
