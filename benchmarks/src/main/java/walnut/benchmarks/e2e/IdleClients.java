package walnut.benchmarks.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Set;
import walnut.testing.Poll;

/**
 * The proxy's resident memory with many idle clients: opens {@code n} connections to it that send
 * nothing, waits until the proxy holds them all, reads its VmRSS, then closes them and waits until
 * it has let them go, so the next measurement starts from the same state.
 *
 * <p>The proxy holds a client when one of its sockets is the accepted end of that connection: a
 * line of its /proc/&lt;pid&gt;/net/tcp (or tcp6) on the proxy's port, whose remote port is the
 * client's local port and whose inode is among the sockets of /proc/&lt;pid&gt;/fd. That counts
 * exactly our clients: the growth of the proxy's open files would also count, or miss, whatever
 * else it opens or closes meanwhile (a connection to a server, the probe that saw its port open).
 */
final class IdleClients {

  /** How many connections the proxy holds (fewer than asked if it refused some), and its RSS. */
  record Measurement(int held, long rssKib) {}

  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration SETTLE = Duration.ofSeconds(30);

  private IdleClients() {}

  static Measurement measure(InetSocketAddress proxy, long pid, int n) throws IOException {
    List<Socket> sockets = new ArrayList<>(n);
    BitSet ports = new BitSet(); // the local ports of the clients that connected
    try {
      for (int opened = 0; opened < n; opened++) {
        Socket s = new Socket();
        sockets.add(s);
        try {
          s.connect(proxy, (int) CONNECT_TIMEOUT.toMillis());
        } catch (IOException e) {
          break; // the proxy refuses more (a limit of its own, or of the machine): measure those
        }
        ports.set(s.getLocalPort());
      }
      int connected = ports.cardinality();
      Poll.within(SETTLE, () -> held(pid, proxy.getPort(), ports) == connected);
      int held = held(pid, proxy.getPort(), ports);
      // The last accepted connections are registered with an event loop right after the accept
      // that /proc shows; give that a moment so their state is in the figure.
      sleep(Duration.ofMillis(250));
      return new Measurement(held, ProcFs.rssKib(pid));
    } finally {
      for (Socket s : sockets) {
        try {
          s.close();
        } catch (IOException ignored) {
          // closing a socket that never connected: nothing to release
        }
      }
      Poll.within(SETTLE, () -> held(pid, proxy.getPort(), ports) == 0);
    }
  }

  /**
   * How many of the clients whose local ports are {@code ports} process {@code pid} holds: the
   * distinct remote ports among its sockets on {@code proxyPort}.
   */
  private static int held(long pid, int proxyPort, BitSet ports) {
    try {
      Set<Long> inodes = ProcFs.socketInodes(pid);
      BitSet held = new BitSet();
      for (ProcFs.TcpSocket s : ProcFs.tcpSockets(pid)) {
        if (s.localPort() == proxyPort && ports.get(s.remotePort())
            && inodes.contains(s.inode())) {
          held.set(s.remotePort());
        }
      }
      return held.cardinality();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the sockets of pid " + pid, e);
    }
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
