package walnut.core.proxy;

import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandshakeTimeoutException;
import java.net.UnknownHostException;
import java.nio.channels.UnresolvedAddressException;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * The text of twemproxy's error replies: glibc's {@code strerror} of the failure's errno
 * (docs/compatibility.md#server-side-failures). Java reports errno only as exception text, so this
 * matches the same strings.
 */
final class ErrorText {

  static final String REFUSED = "Connection refused";
  static final String TIMED_OUT = "Connection timed out";
  static final String RESET = "Connection reset by peer";
  static final String HOST_DOWN = "Host is down";
  static final String INVALID = "Invalid argument";
  /** EPROTONOSUPPORT: the servers refused the kind of connection a request needs (RESP3). */
  static final String NO_PROTOCOL = "Protocol not supported";
  /** A pool with sentinels found a replica where the master was: the sentinels are asked. */
  static final String NOT_PRIMARY = "the server is a replica: its master moved (failover)";
  /** Walnut's: the TLS handshake with the server failed (the log says why). */
  static final String TLS_FAILED = "TLS handshake failed";
  /** Walnut's: the TLS handshake with the server did not finish within the connect timeout. */
  static final String TLS_TIMED_OUT = "TLS handshake timed out";
  /** twemproxy's text for errno 0: the server closed the connection. */
  static final String UNKNOWN = "unknown";

  private static final List<String> KNOWN = List.of(REFUSED, TIMED_OUT, RESET, "Broken pipe",
      "Network is unreachable", "No route to host", HOST_DOWN);

  private ErrorText() {}

  static String of(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause()) { // TLS's, whatever wraps it
      if (t instanceof SslHandshakeTimeoutException) {
        return TLS_TIMED_OUT;
      }
      if (t instanceof SSLException) {
        return TLS_FAILED;
      }
    }
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof ConnectTimeoutException) {
        return TIMED_OUT;
      }
      if (t instanceof UnknownHostException || t instanceof UnresolvedAddressException) {
        return HOST_DOWN;
      }
      if (t instanceof DecoderException) {
        return INVALID;
      }
      String message = t.getMessage();
      if (message != null && message.contains("Connection reset")) {
        return RESET; // NIO says "Connection reset", epoll "Connection reset by peer"
      }
      if (message != null) {
        for (String known : KNOWN) {
          if (message.contains(known)) {
            return known;
          }
        }
      }
    }
    return UNKNOWN;
  }
}
