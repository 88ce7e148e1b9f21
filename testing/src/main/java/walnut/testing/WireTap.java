package walnut.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP listener on loopback that records every byte a proxy sends it, with the wall-clock time of
 * each read, so a test can tell what reached a server's port and when.
 *
 * <p>Two kinds: a {@linkplain #blackHole black hole} on a given port (a dead server's), which
 * accepts every connection and never answers, so whatever the proxy sends there waits for its
 * timeout; and a {@linkplain #relay relay} on a free port in front of a real server, which forwards
 * both ways and records both ways. A relay's connection whose server cannot be reached is closed
 * at once; when either side of a relayed connection ends, both are closed.
 *
 * <p>Times are {@link System#currentTimeMillis()} taken right after each read returns and before
 * its bytes are forwarded, so they compare with the proxy's own wall-clock stats (its {@code
 * server_ejected_at}). Thread-safe: one daemon thread accepts, one per direction of each
 * connection reads; the recordings may be read while they grow. {@link #close()} stops accepting
 * and closes every connection.
 */
public final class WireTap implements AutoCloseable {
  private static final int ATTEMPTS = 5;

  /** What one read returned, and when. */
  public record Chunk(long atMillis, byte[] bytes) {}

  /** One accepted connection: what the proxy sent on it and, for a relay, what came back. */
  public static final class Connection {
    private final long acceptedAt;
    private final List<Chunk> sent = new CopyOnWriteArrayList<>();
    private final List<Chunk> received = new CopyOnWriteArrayList<>();
    private volatile long proxyClosedAt = -1;

    Connection(long acceptedAt) {
      this.acceptedAt = acceptedAt;
    }

    /** When the tap accepted it. */
    public long acceptedAt() {
      return acceptedAt;
    }

    /**
     * When the proxy closed its side (the tap read EOF or a reset); -1 while it has not, and for a
     * connection still open when the tap was closed.
     */
    public long proxyClosedAt() {
      return proxyClosedAt;
    }

    /** Reads of what the proxy sent, in order. */
    public List<Chunk> sent() {
      return List.copyOf(sent);
    }

    /** Reads of what the server answered, in order (a relay's; a black hole's stays empty). */
    public List<Chunk> received() {
      return List.copyOf(received);
    }

    /** Every byte the proxy sent, in order. */
    public byte[] sentBytes() {
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      for (Chunk c : sent) {
        all.writeBytes(c.bytes());
      }
      return all.toByteArray();
    }
  }

  private final ServerSocket listener;
  private final InetSocketAddress target;
  private final List<Connection> connections = new CopyOnWriteArrayList<>();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger maxOpen = new AtomicInteger();
  private volatile boolean closed;

  private WireTap(ServerSocket listener, InetSocketAddress target) {
    this.listener = listener;
    this.target = target;
  }

  /**
   * Listens on 127.0.0.1:{@code port} (retrying for up to 5 s while the port is still held, as by
   * a server just killed) and records what arrives; never answers.
   */
  public static WireTap blackHole(int port) {
    ServerSocket[] bound = new ServerSocket[1];
    IOException[] last = new IOException[1];
    boolean ok = Poll.within(Duration.ofSeconds(5), () -> {
      try {
        bound[0] = bind(port);
        return true;
      } catch (BindException e) {
        last[0] = e;
        return false;
      } catch (IOException e) {
        throw new UncheckedIOException("black hole cannot listen on " + port, e);
      }
    });
    if (!ok) {
      throw new UncheckedIOException("port " + port + " stayed busy", last[0]);
    }
    return start(new WireTap(bound[0], null));
  }

  /** Listens on a free loopback port and relays each connection to {@code target}, recording. */
  public static WireTap relay(InetSocketAddress target) {
    IOException last = null;
    for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        return start(new WireTap(bind(FreePorts.next()), target));
      } catch (BindException e) {
        last = e; // taken outside FreePorts: try another
      } catch (IOException e) {
        throw new UncheckedIOException("relay cannot listen", e);
      }
    }
    throw new UncheckedIOException("relay found no free port", last);
  }

  private static ServerSocket bind(int port) throws IOException {
    ServerSocket socket = new ServerSocket();
    try {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 512);
      return socket;
    } catch (IOException e) {
      socket.close();
      throw e;
    }
  }

  private static WireTap start(WireTap tap) {
    Thread acceptor = new Thread(tap::accept, "wire-tap-" + tap.port());
    acceptor.setDaemon(true);
    acceptor.start();
    return tap;
  }

  public int port() {
    return listener.getLocalPort();
  }

  /** Every connection accepted so far, in the order accepted. */
  public List<Connection> connections() {
    return List.copyOf(connections);
  }

  /** The most connections the proxy held open to the tap at once. */
  public int maxOpen() {
    return maxOpen.get();
  }

  private void accept() {
    while (!closed) {
      Socket downstream;
      try {
        downstream = listener.accept();
      } catch (IOException e) {
        return; // closed
      }
      Connection c = new Connection(System.currentTimeMillis());
      connections.add(c);
      sockets.add(downstream);
      maxOpen.accumulateAndGet(open.incrementAndGet(), Math::max);
      if (target == null) {
        read(c, downstream, null, c.sent, true);
        continue;
      }
      Socket upstream = new Socket();
      sockets.add(upstream);
      try {
        upstream.connect(target, 5_000);
        upstream.setTcpNoDelay(true);
        downstream.setTcpNoDelay(true);
      } catch (IOException e) {
        c.proxyClosedAt = System.currentTimeMillis();
        open.decrementAndGet();
        closeBoth(downstream, upstream); // the proxy sees its server hang up
        continue;
      }
      read(c, downstream, upstream, c.sent, true);
      read(c, upstream, downstream, c.received, false);
    }
  }

  /** Reads {@code from} until it ends, recording into {@code into} and copying to {@code to}. */
  private void read(Connection c, Socket from, Socket to, List<Chunk> into, boolean fromProxy) {
    Thread t = new Thread(() -> {
      byte[] buffer = new byte[1 << 16];
      try {
        InputStream in = from.getInputStream();
        OutputStream out = to == null ? null : to.getOutputStream();
        for (;;) {
          int n = in.read(buffer);
          if (n < 0) {
            break;
          }
          into.add(new Chunk(System.currentTimeMillis(), Arrays.copyOf(buffer, n)));
          if (out != null) {
            out.write(buffer, 0, n);
          }
        }
      } catch (IOException e) {
        // reset, or the other direction closed the pair
      }
      if (fromProxy && c.proxyClosedAt < 0 && !closed) {
        c.proxyClosedAt = System.currentTimeMillis();
        open.decrementAndGet();
      }
      closeBoth(from, to);
    }, "wire-tap-" + port() + (fromProxy ? "-up" : "-down"));
    t.setDaemon(true);
    t.start();
  }

  private void closeBoth(Socket a, Socket b) {
    for (Socket s : new Socket[] {a, b}) {
      if (s != null) {
        try {
          s.close();
        } catch (IOException e) {
          // closing anyway
        }
        sockets.remove(s);
      }
    }
  }

  /** Stops accepting and closes every connection (the proxy sees them end). Idempotent. */
  @Override
  public void close() {
    closed = true;
    try {
      listener.close();
    } catch (IOException e) {
      // closing anyway
    }
    for (Socket s : new ArrayList<>(sockets)) {
      closeBoth(s, null);
    }
  }
}
