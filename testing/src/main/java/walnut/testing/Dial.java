package walnut.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import javax.net.ssl.SSLContext;

/**
 * How a server fixture reaches its server on {@code 127.0.0.1}: plain TCP ({@link #PLAIN}), or TLS
 * with {@code tls}, verifying the certificate as {@code peerHost} ({@link TlsSockets#connect}).
 */
record Dial(SSLContext tls, String peerHost) {
  static final Dial PLAIN = new Dial(null, null);

  boolean isTls() {
    return tls != null;
  }

  /**
   * A connected socket, handshake done for TLS; {@code timeout} bounds the connect, the handshake
   * and each later read. The caller closes it.
   */
  Socket open(int port, Duration timeout) throws IOException {
    if (tls != null) {
      return TlsSockets.connect(tls, port, peerHost, timeout);
    }
    int millis = (int) Math.max(1, timeout.toMillis());
    Socket socket = new Socket();
    try {
      socket.connect(new InetSocketAddress(ServerFixture.HOST, port), millis);
      socket.setSoTimeout(millis);
      socket.setTcpNoDelay(true);
      return socket;
    } catch (IOException | RuntimeException e) {
      socket.close();
      throw e;
    }
  }
}
