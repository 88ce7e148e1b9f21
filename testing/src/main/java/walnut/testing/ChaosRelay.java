package walnut.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP relay in front of a real server that can break a connection in the middle of a reply: put
 * its port in the proxy's server list instead of the server's, and call {@link #cutMidReply()}.
 *
 * <p>Every connection accepted on {@link #port()} gets its own connection to the target and two
 * threads copying bytes each way. A cut is armed by {@link #cutMidReply()} and taken by the next
 * read from the server side of any connection that holds at least two bytes: only the first
 * {@code min(n - 1, 4)} bytes of it are forwarded — inside the first reply of the read, since every
 * Redis and memcached reply is longer — and then both sides of that connection are closed, so the
 * proxy sees its server hang up halfway through a reply. {@link #cuts()} counts cuts taken.
 *
 * <p>Listens on 127.0.0.1 on a port from {@link FreePorts}. Thread-safe. {@link #close()} stops
 * accepting and closes every connection; the threads end with their sockets.
 */
public final class ChaosRelay implements AutoCloseable {
  private static final int ATTEMPTS = 5;

  private final InetSocketAddress target;
  private final ServerSocket listener;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean armed = new AtomicBoolean();
  private final AtomicInteger cuts = new AtomicInteger();
  private final AtomicInteger accepted = new AtomicInteger();
  private volatile boolean closed;

  private ChaosRelay(InetSocketAddress target, ServerSocket listener) {
    this.target = target;
    this.listener = listener;
  }

  /** Starts relaying connections on a free loopback port to {@code target}. */
  public static ChaosRelay start(InetSocketAddress target) {
    ServerSocket listener = bind();
    ChaosRelay relay = new ChaosRelay(target, listener);
    Thread acceptor = new Thread(relay::accept, "chaos-relay-" + listener.getLocalPort());
    acceptor.setDaemon(true);
    acceptor.start();
    return relay;
  }

  private static ServerSocket bind() {
    IOException last = null;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      ServerSocket socket = null;
      try {
        socket = new ServerSocket();
        socket.setReuseAddress(true);
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), FreePorts.next()));
        return socket;
      } catch (BindException e) {
        last = e; // someone outside FreePorts took it: try another
        closeQuietly(socket);
      } catch (IOException e) {
        closeQuietly(socket);
        throw new UncheckedIOException("chaos relay cannot listen", e);
      }
    }
    throw new UncheckedIOException("chaos relay found no free port", last);
  }

  public int port() {
    return listener.getLocalPort();
  }

  /** Connections accepted so far. */
  public int connections() {
    return accepted.get();
  }

  /** Arms one cut; returns at once. Poll {@link #cuts()} to see it taken. */
  public void cutMidReply() {
    armed.set(true);
  }

  /** Cuts taken so far. */
  public int cuts() {
    return cuts.get();
  }

  private void accept() {
    while (!closed) {
      Socket downstream;
      try {
        downstream = listener.accept();
      } catch (IOException e) {
        return; // closed
      }
      accepted.incrementAndGet();
      Socket upstream = new Socket();
      sockets.add(downstream);
      sockets.add(upstream);
      try {
        upstream.connect(target, 5_000);
        upstream.setTcpNoDelay(true);
        downstream.setTcpNoDelay(true);
      } catch (IOException e) {
        closeBoth(downstream, upstream); // the proxy sees the server hang up
        continue;
      }
      pump(downstream, upstream, false, "up");
      pump(upstream, downstream, true, "down");
    }
  }

  private void pump(Socket from, Socket to, boolean replies, String direction) {
    Thread t = new Thread(() -> {
      byte[] buffer = new byte[1 << 16];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream();
        for (;;) {
          int n = in.read(buffer);
          if (n < 0) {
            break;
          }
          if (replies && n >= 2 && armed.compareAndSet(true, false)) {
            out.write(buffer, 0, Math.min(n - 1, 4));
            out.flush();
            cuts.incrementAndGet();
            break;
          }
          out.write(buffer, 0, n);
        }
      } catch (IOException e) {
        // the other pump closed the pair, or a peer did
      }
      closeBoth(from, to);
    }, "chaos-relay-" + port() + "-" + direction);
    t.setDaemon(true);
    t.start();
  }

  private void closeBoth(Socket a, Socket b) {
    closeQuietly(a);
    closeQuietly(b);
    sockets.remove(a);
    sockets.remove(b);
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      // nothing to do
    }
  }

  @Override
  public void close() {
    closed = true;
    closeQuietly(listener);
    for (Socket s : sockets) {
      closeQuietly(s);
    }
    sockets.clear();
  }
}
