package walnut.server;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntFunction;
import java.util.function.Predicate;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.RedisServer;

/**
 * The bounded writer and reader of issue #22's failover tests: two clients of Walnut, one
 * request at a time each, paced to at most one request per {@link #PACE}, that record when each
 * request was sent and answered, so a test can hold every error and every lost write against
 * the instants of a kill and a {@code +switch-master}.
 *
 * <p>The writer stores each key of its list once, in order ({@code SET key w<i>:key}): a key
 * has one value ever written, so any read of it can be checked against that value alone, and a
 * write lost by a failover cannot hide behind a later one. The keys must have been placed first
 * (they hold {@link KeyPlacement#VALUE} on their own shard and nothing anywhere else). The reader
 * reads keys whose write was acknowledged (the last one half the time, any earlier one
 * otherwise) and checks each reply against its own request: the written value is right; {@link
 * KeyPlacement#VALUE} is a stale read (the write lost, or read from the old master), which the
 * test judges by its timing; nothing at all means the key was looked up on a server that is not
 * its shard's; any other value is a misdelivery. Errors are recorded with their text, shard and
 * timing, to be judged by the test too.
 *
 * <p>Thread-safe: the records may be read while the clients run. {@link #close()} stops both
 * after their current request and closes their sockets.
 */
final class SentinelTraffic implements AutoCloseable {

  static final Duration PACE = Duration.ofMillis(2);
  private static final int SAMPLES = 20;
  private static final int REPLY_TIMEOUT_MS = 10_000;

  /** One write: sent and answered at these {@link System#nanoTime()}s; error null if OK. */
  record Write(int index, String key, int shard, String value, long sent, long answered,
      String error) {
    boolean acked() {
      return error == null;
    }
  }

  /** An error reply to a SET or GET. */
  record Failure(String op, String key, int shard, long sent, long answered, String text) {}

  /** A GET that found the placement value instead of the acknowledged write's. */
  record StaleRead(Write write, long sent, long answered) {}

  private final KvDialect dialect = KvDialect.REDIS;
  private final List<String> keys;
  private final Map<String, Integer> placement;
  private final Write[] writes;
  private volatile int written;
  private volatile boolean exhausted;
  private volatile boolean stopping;
  private final AtomicLong reads = new AtomicLong();
  private final AtomicLong goodReads = new AtomicLong();
  private final ConcurrentLinkedQueue<Failure> failures = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<StaleRead> staleReads = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<String> misdeliveries = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<String> clientFailures = new ConcurrentLinkedQueue<>();
  private final List<Socket> sockets = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();

  private SentinelTraffic(List<String> keys, Map<String, Integer> placement) {
    this.keys = List.copyOf(keys);
    this.placement = placement;
    this.writes = new Write[keys.size()];
  }

  /**
   * Connects the writer and the reader to {@code proxy} and starts them; {@code placement} maps
   * each key to its shard's index.
   */
  static SentinelTraffic start(InetSocketAddress proxy, List<String> keys,
      Map<String, Integer> placement) throws IOException {
    SentinelTraffic traffic = new SentinelTraffic(keys, placement);
    try {
      Socket writer = traffic.connect(proxy);
      Socket reader = traffic.connect(proxy);
      traffic.threads.add(new Thread(() -> traffic.write(writer), "sentinel-writer"));
      traffic.threads.add(new Thread(() -> traffic.read(reader), "sentinel-reader"));
    } catch (IOException | RuntimeException e) {
      traffic.close();
      throw e;
    }
    traffic.threads.forEach(t -> {
      t.setDaemon(true);
      t.start();
    });
    return traffic;
  }

  private Socket connect(InetSocketAddress proxy) throws IOException {
    Socket socket = new Socket();
    sockets.add(socket);
    socket.connect(proxy, 5_000);
    socket.setTcpNoDelay(true);
    socket.setSoTimeout(REPLY_TIMEOUT_MS);
    return socket;
  }

  private void write(Socket socket) {
    try {
      OutputStream out = new BufferedOutputStream(socket.getOutputStream());
      InputStream in = new BufferedInputStream(socket.getInputStream());
      for (int i = 0; !stopping; i++) {
        if (i == keys.size()) {
          exhausted = true;
          return;
        }
        String key = keys.get(i);
        String value = "w" + i + ":" + key;
        long sent = System.nanoTime();
        out.write(dialect.set(key, value));
        out.flush();
        KvDialect.Reply reply = dialect.read(in, key);
        long answered = System.nanoTime();
        int shard = placement.get(key);
        String error = null;
        if (reply.kind() == KvDialect.Kind.ERROR) {
          error = reply.text();
          failures.add(new Failure("SET", key, shard, sent, answered, error));
        } else if (reply.kind() != KvDialect.Kind.STORED) {
          error = "not stored: " + reply;
          misdeliveries.add("SET " + key + " answered " + reply);
        }
        writes[i] = new Write(i, key, shard, value, sent, answered, error);
        written = i + 1;
        pace(sent);
      }
    } catch (IOException | RuntimeException e) {
      if (!socket.isClosed()) {
        clientFailures.add("writer after " + written + " writes: " + e);
      }
    }
  }

  private void read(Socket socket) {
    try {
      OutputStream out = new BufferedOutputStream(socket.getOutputStream());
      InputStream in = new BufferedInputStream(socket.getInputStream());
      ThreadLocalRandom random = ThreadLocalRandom.current();
      while (!stopping) {
        long sent = System.nanoTime();
        int n = written;
        Write w = n == 0 ? null : writes[random.nextBoolean() ? n - 1 : random.nextInt(n)];
        if (w == null || !w.acked()) {
          pace(sent);
          continue;
        }
        out.write(dialect.get(w.key()));
        out.flush();
        KvDialect.Reply reply = dialect.read(in, w.key());
        long answered = System.nanoTime();
        reads.incrementAndGet();
        switch (reply.kind()) {
          case VALUE -> {
            if (reply.text().equals(w.value())) {
              goodReads.incrementAndGet();
            } else if (reply.text().equals(KeyPlacement.VALUE)) {
              staleReads.add(new StaleRead(w, sent, answered));
            } else {
              misdeliveries.add("GET " + w.key() + " answered '" + reply.text() + "' (written: '"
                  + w.value() + "')");
            }
          }
          case ERROR -> failures.add(new Failure("GET", w.key(), w.shard(), sent, answered,
              reply.text()));
          case MISSING -> misdeliveries.add("GET " + w.key() + " found nothing: the key was"
              + " looked up off its shard (" + w.shard() + ")");
          default -> misdeliveries.add("GET " + w.key() + " answered " + reply);
        }
        pace(sent);
      }
    } catch (IOException | RuntimeException e) {
      if (!socket.isClosed()) {
        clientFailures.add("reader after " + reads.get() + " reads: " + e);
      }
    }
  }

  private static void pace(long sent) {
    long left = sent + PACE.toNanos() - System.nanoTime();
    if (left > 0) {
      LockSupport.parkNanos(left);
    }
  }

  /** The writes so far, in order. */
  List<Write> writes() {
    int n = written;
    List<Write> list = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      list.add(writes[i]);
    }
    return list;
  }

  /** Acknowledged writes of {@code shard} sent after {@code nanos}. */
  long ackedSentAfter(int shard, long nanos) {
    return writes().stream().filter(w -> w.shard() == shard && w.acked() && w.sent() > nanos)
        .count();
  }

  List<Failure> failures() {
    return List.copyOf(failures);
  }

  List<StaleRead> staleReads() {
    return List.copyOf(staleReads);
  }

  /** The wrong replies: the first few described, then how many there were in all. */
  List<String> misdeliveries() {
    return sample(List.copyOf(misdeliveries));
  }

  /** {@code all}, or its first {@value #SAMPLES} and a count, for a readable failure. */
  static <T> List<String> sample(List<T> all) {
    List<String> sample = new ArrayList<>();
    for (int i = 0; i < Math.min(SAMPLES, all.size()); i++) {
      sample.add(String.valueOf(all.get(i)));
    }
    if (all.size() > SAMPLES) {
      sample.add("… " + all.size() + " in all");
    }
    return sample;
  }

  List<String> clientFailures() {
    return List.copyOf(clientFailures);
  }

  /** Whether the writer ran out of keys (then the test ran longer than its list allows). */
  boolean exhausted() {
    return exhausted;
  }

  String summary() {
    List<Write> all = writes();
    long acked = all.stream().filter(Write::acked).count();
    return all.size() + " writes (" + acked + " acknowledged), " + reads.get() + " reads ("
        + goodReads.get() + " of the written value, " + staleReads.size() + " stale), "
        + failures.size() + " errors, " + misdeliveries.size() + " misdelivered"
        + (clientFailures.isEmpty() ? "" : ", client failures: " + clientFailures);
  }

  /**
   * Reads every key written so far directly on the masters, without Walnut, and returns what is
   * wrong: a key whose acknowledged write {@code mustSurvive} but whose shard's master has not
   * got its value, a key whose master holds neither its value nor the placement value, and any
   * key present on another shard's master (it changed server). {@code masters} gives each
   * shard's master now.
   */
  List<String> checkOnMasters(IntFunction<RedisServer> masters, int shards,
      Predicate<Write> mustSurvive) {
    List<String> wrong = new ArrayList<>();
    List<Write> all = writes();
    for (int shard = 0; shard < shards; shard++) {
      RedisServer master = masters.apply(shard);
      for (int from = 0; from < all.size(); from += 500) {
        List<Write> chunk = all.subList(from, Math.min(all.size(), from + 500));
        List<String> args = new ArrayList<>(List.of("MGET"));
        chunk.forEach(w -> args.add(w.key()));
        Object reply = master.command(args.toArray(String[]::new));
        if (!(reply instanceof List<?> values) || values.size() != chunk.size()) {
          wrong.add("MGET on " + master + " answered " + reply);
          continue;
        }
        for (int i = 0; i < chunk.size(); i++) {
          Write w = chunk.get(i);
          Object value = values.get(i);
          if (w.shard() != shard) {
            if (value != null) {
              wrong.add(w.key() + " (shard " + w.shard() + ") is on shard " + shard
                  + "'s master " + master + " too: '" + value + "'");
            }
          } else if (mustSurvive.test(w) && !w.value().equals(value)) {
            wrong.add(w.key() + ": written and acknowledged, but its master " + master
                + " holds '" + value + "'");
          } else if (!w.value().equals(value) && !KeyPlacement.VALUE.equals(value)) {
            wrong.add(w.key() + ": its master " + master + " holds '" + value + "'");
          }
        }
      }
    }
    return sample(wrong);
  }

  /**
   * Reads every key written so far back through Walnut on a connection of its own, pipelined,
   * each reply checked against its own request as {@link #checkOnMasters} does; returns what is
   * wrong.
   */
  List<String> checkThroughProxy(InetSocketAddress proxy, Predicate<Write> mustSurvive)
      throws IOException {
    List<String> wrong = new ArrayList<>();
    List<Write> all = writes();
    try (Socket socket = new Socket()) {
      socket.connect(proxy, 5_000);
      socket.setSoTimeout(REPLY_TIMEOUT_MS);
      OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
      InputStream in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
      for (int from = 0; from < all.size(); from += 200) {
        List<Write> chunk = all.subList(from, Math.min(all.size(), from + 200));
        for (Write w : chunk) {
          out.write(dialect.get(w.key()));
        }
        out.flush();
        for (Write w : chunk) {
          KvDialect.Reply reply = dialect.read(in, w.key());
          boolean exact = reply.kind() == KvDialect.Kind.VALUE && w.value().equals(reply.text());
          boolean placed = reply.kind() == KvDialect.Kind.VALUE
              && KeyPlacement.VALUE.equals(reply.text());
          if (exact || (placed && !mustSurvive.test(w))) {
            continue;
          }
          wrong.add("GET " + w.key() + " through Walnut: " + reply + " (written: '" + w.value()
              + "', " + (w.acked() ? "acknowledged" : "failed: " + w.error()) + ")");
        }
      }
    }
    return sample(wrong);
  }

  /** Stops both clients after their current request and waits for them; idempotent. */
  void stop() {
    stopping = true;
    for (Thread t : threads) {
      try {
        t.join(REPLY_TIMEOUT_MS + 5_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
      if (t.isAlive()) {
        clientFailures.add(t.getName() + " did not finish its request");
      }
    }
  }

  @Override
  public void close() {
    stop();
    for (Socket socket : sockets) {
      try {
        socket.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
  }
}
