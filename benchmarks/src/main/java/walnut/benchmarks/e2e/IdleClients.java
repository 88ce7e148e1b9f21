package walnut.benchmarks.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import walnut.testing.Poll;

/**
 * The proxy's resident memory with many idle clients: opens {@code n} connections to it that send
 * nothing, waits until the proxy holds them all (its count of open files in /proc has grown by
 * {@code n}), reads its VmRSS, then closes them and waits until it has let them go, so the next
 * measurement starts from the same state.
 */
final class IdleClients {

  /** How many connections the proxy holds (fewer than asked if it refused some), and its RSS. */
  record Measurement(int held, long rssKib) {}

  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration SETTLE = Duration.ofSeconds(30);

  private IdleClients() {}

  static Measurement measure(InetSocketAddress proxy, long pid, int n) throws IOException {
    int before = ProcFs.openFiles(pid);
    List<Socket> sockets = new ArrayList<>(n);
    try {
      int opened = 0;
      for (; opened < n; opened++) {
        Socket s = new Socket();
        sockets.add(s);
        try {
          s.connect(proxy, (int) CONNECT_TIMEOUT.toMillis());
        } catch (IOException e) {
          break; // the proxy refuses more (a limit of its own, or of the machine): measure those
        }
      }
      int connected = opened;
      Poll.within(SETTLE, () -> openFiles(pid) - before >= connected);
      int held = Math.min(connected, Math.max(0, openFiles(pid) - before));
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
      Poll.within(SETTLE, () -> openFiles(pid) <= before + 8);
    }
  }

  private static int openFiles(long pid) {
    try {
      return ProcFs.openFiles(pid);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot count the open files of pid " + pid, e);
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
