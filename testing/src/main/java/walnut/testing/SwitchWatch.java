package walnut.testing;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A subscription to {@code +switch-master} on several sentinels, recording each switch once,
 * at the instant the first sentinel reported it. Thread-safe: one reader thread per sentinel.
 */
public final class SwitchWatch implements AutoCloseable {

  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(5);

  /**
   * One {@code +switch-master} event: {@code shard}'s master moved from {@code from} to {@code
   * to}, first seen by a sentinel connection at {@code nanos} ({@link System#nanoTime()}).
   */
  public record Switch(String shard, InetSocketAddress from, InetSocketAddress to, long nanos) {}

  private final List<Socket> sockets = new ArrayList<>();
  private final List<Thread> readers = new ArrayList<>();
  private final List<Switch> seen = new ArrayList<>(); // guarded by this
  private final Map<String, InetSocketAddress> lastTo = new HashMap<>(); // guarded by this
  private volatile boolean closed;

  SwitchWatch(List<RedisServer> sentinels, String password) {
    if (sentinels.isEmpty()) {
      throw new IllegalStateException("no sentinel runs to watch");
    }
    try {
      for (RedisServer sentinel : sentinels) {
        subscribe(sentinel, password);
      }
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
    readers.forEach(Thread::start);
  }

  private void subscribe(RedisServer sentinel, String password) {
    Socket socket = new Socket();
    sockets.add(socket);
    try {
      socket.connect(sentinel.address(), (int) COMMAND_TIMEOUT.toMillis());
      socket.setSoTimeout((int) COMMAND_TIMEOUT.toMillis());
      socket.setTcpNoDelay(true);
      OutputStream out = new BufferedOutputStream(socket.getOutputStream());
      InputStream in = new BufferedInputStream(socket.getInputStream());
      if (password != null) {
        Resp.writeCommand(out, "AUTH", password);
      }
      Resp.writeCommand(out, "SUBSCRIBE", "+switch-master");
      out.flush();
      if (password != null) {
        Object auth = Resp.readReply(in);
        if (!"OK".equals(auth)) {
          throw new IllegalStateException("AUTH on " + sentinel + ": " + auth);
        }
      }
      Object confirmed = Resp.readReply(in);
      if (!(confirmed instanceof List<?> c) || !"subscribe".equals(c.get(0))) {
        throw new IllegalStateException("SUBSCRIBE on " + sentinel + ": " + confirmed);
      }
      socket.setSoTimeout(0); // switches come when they come; close() ends the read
      Thread reader = new Thread(() -> read(in), "switch-watch-" + sentinel.port());
      reader.setDaemon(true);
      readers.add(reader);
    } catch (IOException e) {
      throw new UncheckedIOException("subscribing to +switch-master on " + sentinel, e);
    }
  }

  private void read(InputStream in) {
    try {
      for (;;) {
        Object message = Resp.readReply(in);
        long now = System.nanoTime();
        if (message instanceof List<?> m
            && m.size() == 3
            && "message".equals(m.get(0))
            && "+switch-master".equals(m.get(1))) {
          record((String) m.get(2), now);
        }
      }
    } catch (IOException e) {
      // closed, or the sentinel stopped: this sentinel reports no more
    }
  }

  /** Records "name oldip oldport newip newport" unless another sentinel already did. */
  private synchronized void record(String payload, long nanos) {
    String[] f = payload.split(" ");
    InetSocketAddress from = new InetSocketAddress(f[1], Integer.parseInt(f[2]));
    InetSocketAddress to = new InetSocketAddress(f[3], Integer.parseInt(f[4]));
    if (to.equals(lastTo.get(f[0]))) {
      return;
    }
    lastTo.put(f[0], to);
    seen.add(new Switch(f[0], from, to, nanos));
  }

  /** Every switch seen so far, each once, in the order seen. */
  public synchronized List<Switch> switches() {
    return List.copyOf(seen);
  }

  private synchronized Switch first(String shard) {
    return seen.stream().filter(s -> s.shard().equals(shard)).findFirst().orElse(null);
  }

  /**
   * The first switch of {@code shard} since this watch began, waiting up to {@code timeout}
   * for it; an {@link AssertionError} if there is none by then.
   */
  public Switch await(String shard, Duration timeout) {
    if (!Poll.within(timeout, () -> first(shard) != null)) {
      throw new AssertionError(
          "no +switch-master for " + shard + " within " + timeout.toMillis() + " ms (seen: "
              + switches() + ")");
    }
    return first(shard);
  }

  /** Closes the subscriptions. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Socket socket : sockets) {
      try {
        socket.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
    for (Thread reader : readers) {
      try {
        reader.join(COMMAND_TIMEOUT.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
