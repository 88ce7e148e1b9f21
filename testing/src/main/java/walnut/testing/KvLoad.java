package walnut.testing;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * Concurrent pipelining clients whose every reply is checked against the request it answers, so
 * that a reply delivered to the wrong client or out of order cannot go unnoticed.
 *
 * <p>Each client has its own connection, its own thread and its own keys (no two clients share
 * one). Its request {@code i} is a pair, {@code SET key_i "c:i:…"} then {@code GET key_i}, where
 * {@code key_i} is key {@code i mod n} of its own {@code n} keys. A batch is {@code pairsPerBatch}
 * pairs and then one multi-key read of the last few pairs' keys ({@code MGET}, memcached {@code get
 * k1 k2 …}, which Walnut splits across servers and merges), written at once; then its replies are
 * read.
 *
 * <p>A reply is wrong (a "misdelivery") when it is of the wrong type for its request (a value for
 * a SET, {@code OK} for a GET), names another client, another key or a later request, or, for a key
 * of a healthy server whose SET was stored, is anything but exactly that SET's value; a multi-key
 * read is checked key by key the same way. Keys of the {@code faulty} servers may lose data, move
 * (ejection) or be written late by a request that failed, so there a read may also find nothing,
 * the value from before the load, or an earlier value of the same client and key; after a failed
 * SET the same holds everywhere. Errors are counted per server, by text (a failed multi-key read
 * counts against a faulty server among its keys', else against a healthy one); each request's
 * latency is measured from its batch's write to its reply.
 *
 * <p>A client stops at the first connection failure, unreadable reply, or reply missing for
 * {@code replyTimeout}, and records it: in a healthy run {@link #clientFailures()} is empty and
 * every request sent was answered. Thread-safe: the counters may be read while the load runs.
 * {@link #close()} stops the clients after their current batch and closes every socket.
 */
public final class KvLoad implements AutoCloseable {

  private static final int SAMPLES = 20;

  /**
   * How the load runs.
   *
   * @param pairsPerBatch SET/GET pairs written at once before the replies are read
   * @param valuePadding bytes appended to each value, for replies longer than a TCP segment
   * @param batchInterval pause between a client's batches (zero: as fast as replies come), to keep
   *     a shared 2-core machine usable
   * @param replyTimeout how long a client waits for one reply before it records a failure
   * @param multiGetKeys keys of the batch's last pairs read back by one multi-key read ({@code
   *     MGET}, memcached {@code get k1 k2 …}) at the end of each batch; 0 for none
   */
  public record Options(int pairsPerBatch, int valuePadding, Duration batchInterval,
      Duration replyTimeout, int multiGetKeys) {

    public static Options defaults() {
      return new Options(8, 0, Duration.ofMillis(1), Duration.ofSeconds(30), 3);
    }

    public Options withValuePadding(int bytes) {
      return new Options(pairsPerBatch, bytes, batchInterval, replyTimeout, multiGetKeys);
    }
  }

  /** What happened to the requests for one server's keys (as placed before the fault). */
  public record ServerStats(long requests, long replies, long errors, long pairsStored,
      Map<String, Long> errorTexts, Duration maxLatency, Duration maxErrorLatency) {}

  private final KvDialect dialect;
  private final Map<String, Integer> placement;
  private final Set<Integer> faulty;
  private final Options options;
  private final String padding;
  private final KvLoadServer[] servers;
  private final List<Client> clients = new ArrayList<>();
  private final AtomicLong misdeliveries = new AtomicLong();
  private final LongAdder multiGets = new LongAdder();
  private final LongAdder multiGetErrors = new LongAdder();
  private final ConcurrentLinkedQueue<String> misdeliverySamples = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<String> clientFailures = new ConcurrentLinkedQueue<>();
  private volatile boolean stopping;

  private KvLoad(KvDialect dialect, Map<String, Integer> placement, Set<Integer> faulty,
      int serverCount, Options options) {
    this.dialect = dialect;
    this.placement = placement;
    this.faulty = Set.copyOf(faulty);
    this.options = options;
    this.padding = "p".repeat(options.valuePadding());
    this.servers = new KvLoadServer[serverCount];
    for (int i = 0; i < serverCount; i++) {
      servers[i] = new KvLoadServer();
    }
  }

  /**
   * Connects one client per entry of {@code keysPerClient} to {@code proxy} and starts them.
   * {@code placement} maps every key to its server's index (see {@link KeyPlacement}); {@code
   * faulty} names the servers the test will break.
   */
  public static KvLoad start(KvDialect dialect, InetSocketAddress proxy,
      List<List<String>> keysPerClient, Map<String, Integer> placement, Set<Integer> faulty,
      Options options) throws IOException {
    int serverCount = placement.values().stream().mapToInt(Integer::intValue).max().orElse(0) + 1;
    KvLoad load = new KvLoad(dialect, placement, faulty, serverCount, options);
    try {
      for (int c = 0; c < keysPerClient.size(); c++) {
        List<String> keys = keysPerClient.get(c);
        if (keys.isEmpty()) {
          throw new IllegalArgumentException("client " + c + " has no keys");
        }
        Socket socket = new Socket();
        load.clients.add(load.new Client(c, List.copyOf(keys), socket));
        socket.connect(proxy, 5_000);
        socket.setTcpNoDelay(true);
        socket.setSoTimeout((int) options.replyTimeout().toMillis());
      }
    } catch (IOException | RuntimeException e) {
      load.close();
      throw e;
    }
    for (Client client : load.clients) {
      client.thread.start();
    }
    return load;
  }

  /** Requests sent so far (a pair is two). */
  public long requests() {
    long n = 0;
    for (KvLoadServer s : servers) {
      n += s.requests.sum();
    }
    return n;
  }

  /** Replies read so far, errors included. */
  public long replies() {
    long n = 0;
    for (KvLoadServer s : servers) {
      n += s.replies.sum();
    }
    return n;
  }

  /** Error replies so far for keys of {@code server}. */
  public long errors(int server) {
    return servers[server].errors.sum();
  }

  /** SET/GET pairs for keys of {@code server} that were stored and read back exactly. */
  public long pairsStored(int server) {
    return servers[server].stored.sum();
  }

  /** {@link System#nanoTime()} of the last error for a key of {@code server}; 0 if none yet. */
  public long lastErrorNanos(int server) {
    return servers[server].lastError;
  }

  /** The slowest reply client {@code client} has had, errors included. */
  public Duration maxLatencyOfClient(int client) {
    return Duration.ofNanos(clients.get(client).maxLatency);
  }

  /** Wrong replies so far; zero is the invariant every fault test checks. */
  public long misdeliveries() {
    return misdeliveries.get();
  }

  /** The first few wrong replies, described. */
  public List<String> misdeliverySamples() {
    return List.copyOf(misdeliverySamples);
  }

  /** Clients that stopped early, and why: a dropped connection, garbage, or a missing reply. */
  public List<String> clientFailures() {
    return List.copyOf(clientFailures);
  }

  /** The counters for the keys of {@code server}; a multi-key read counts with its first key's. */
  public ServerStats stats(int server) {
    KvLoadServer s = servers[server];
    Map<String, Long> texts = new TreeMap<>();
    s.errorTexts.forEach((text, n) -> texts.put(text, n.sum()));
    return new ServerStats(s.requests.sum(), s.replies.sum(), s.errors.sum(), s.stored.sum(),
        texts, Duration.ofNanos(s.maxLatency.get()), Duration.ofNanos(s.maxErrorLatency.get()));
  }

  /** One line per server, for the test's log. */
  public String summary() {
    StringBuilder s = new StringBuilder();
    s.append(clients.size()).append(" clients, ").append(requests()).append(" requests, ")
        .append(replies()).append(" replies (").append(multiGets.sum()).append(" multi-key reads, ")
        .append(multiGetErrors.sum()).append(" of them failed), ").append(misdeliveries())
        .append(" misdelivered");
    for (int i = 0; i < servers.length; i++) {
      s.append("\n  server ").append(i).append(faulty.contains(i) ? " (faulty)" : "")
          .append(": ").append(stats(i));
    }
    return s.toString();
  }

  /** Stops every client after its current batch and waits for them; idempotent. */
  public void stop() {
    stopping = true;
    long deadline = System.nanoTime() + options.replyTimeout().plusSeconds(10).toNanos();
    for (Client client : clients) {
      try {
        client.thread.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      if (client.thread.isAlive()) {
        clientFailures.add("client " + client.id + " did not finish its batch");
      }
    }
  }

  @Override
  public void close() {
    stopping = true;
    stop();
    for (Client client : clients) {
      try {
        client.socket.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
  }

  private void wrong(String what) {
    misdeliveries.incrementAndGet();
    if (misdeliverySamples.size() < SAMPLES) {
      misdeliverySamples.add(what);
    }
  }

  /** One connection and the thread that drives it; every field is the thread's own. */
  private final class Client {
    /** This client's own: a load may mix RESP2 and RESP3 clients on one pool. */
    final KvDialect dialect;
    final int id;
    final List<String> keys;
    final Socket socket;
    final Thread thread;
    final String prefix;
    /** Written by the client's thread only; read by others for a report. */
    volatile long maxLatency;

    Client(int id, List<String> keys, Socket socket) {
      this.dialect = KvLoad.this.dialect.forClient(id);
      this.id = id;
      this.keys = keys;
      this.socket = socket;
      this.prefix = id + ":";
      this.thread = new Thread(this::run, "kv-load-" + id);
      thread.setDaemon(true);
    }

    private void run() {
      long next = 0;
      long sentUpTo = 0;
      int pairs = options.pairsPerBatch();
      int multi = Math.min(options.multiGetKeys(), Math.min(pairs, keys.size()));
      boolean[] stored = new boolean[pairs];
      try {
        OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
        InputStream in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
        if (dialect.handshake().length > 0) {
          out.write(dialect.handshake());
          out.flush();
          Object hello = Resp.readReply(in);
          if (!(hello instanceof List)) {
            throw new IOException("client " + id + ": HELLO 3 answered " + hello);
          }
        }
        while (!stopping) {
          long first = next;
          for (int p = 0; p < pairs; p++) {
            long i = next++;
            String key = keyOf(i);
            out.write(dialect.set(key, prefix + i + ":" + padding));
            out.write(dialect.get(key));
          }
          List<String> multiKeys = new ArrayList<>(multi);
          for (long i = next - multi; i < next; i++) {
            multiKeys.add(keyOf(i));
          }
          if (multi > 0) {
            out.write(dialect.multiGet(multiKeys));
          }
          long start = System.nanoTime();
          for (long i = first; i < next; i++) {
            servers[placement.get(keyOf(i))].requests.add(2);
          }
          if (multi > 0) {
            servers[placement.get(multiKeys.get(0))].requests.increment();
          }
          sentUpTo = next;
          out.flush();
          for (long i = first; i < next; i++) {
            String key = keyOf(i);
            KvLoadServer server = servers[placement.get(key)];
            KvDialect.Reply set = dialect.read(in, key);
            server.replied(set, System.nanoTime() - start);
            KvDialect.Reply get = dialect.read(in, key);
            server.replied(get, latency(start));
            stored[(int) (i - first)] = checkPair(i, key, set, get, server);
          }
          if (multi > 0) {
            KvDialect.MultiReply reply = dialect.readMulti(in, multiKeys);
            checkMulti(next - multi, multiKeys, reply, stored, pairs - multi, latency(start));
          }
          if (!options.batchInterval().isZero()) {
            LockSupport.parkNanos(options.batchInterval().toNanos());
          }
        }
      } catch (SocketTimeoutException e) {
        clientFailures.add("client " + id + ": a reply missing for " + options.replyTimeout()
            + " (requests sent up to pair " + sentUpTo + ")");
      } catch (IOException | RuntimeException e) {
        if (!socket.isClosed()) {
          clientFailures.add("client " + id + " after pair " + sentUpTo + ": " + e);
        }
      }
    }

    private long latency(long start) {
      long latency = System.nanoTime() - start;
      if (latency > maxLatency) {
        maxLatency = latency;
      }
      return latency;
    }

    private String keyOf(long i) {
      return keys.get((int) (i % keys.size()));
    }

    /** Checks a SET/GET pair; returns whether the SET was stored. */
    private boolean checkPair(long i, String key, KvDialect.Reply set, KvDialect.Reply get,
        KvLoadServer server) {
      boolean stored = set.kind() == KvDialect.Kind.STORED;
      if (!stored && set.kind() != KvDialect.Kind.ERROR) {
        wrong("client " + id + " pair " + i + ": SET " + key + " answered " + set);
      }
      if (get.kind() == KvDialect.Kind.ERROR) {
        return stored;
      }
      if (get.kind() != KvDialect.Kind.VALUE && get.kind() != KvDialect.Kind.MISSING) {
        wrong("client " + id + " pair " + i + ": GET " + key + " answered " + get);
      } else if (checkRead("GET", i, key, stored, get.text()) && stored) {
        server.stored.increment();
      }
      return stored;
    }

    /**
     * Checks the multi-key read sent after the batch's pairs: key {@code n} is that of pair
     * {@code first + n}, whose SET was stored if {@code stored[offset + n]}.
     */
    private void checkMulti(long first, List<String> multiKeys, KvDialect.MultiReply reply,
        boolean[] stored, int offset, long latency) {
      KvLoadServer counted = servers[placement.get(multiKeys.get(0))];
      multiGets.increment();
      if (reply.error() != null) {
        multiGetErrors.increment();
        // Charged to a broken server if one of the keys is on one, else to a healthy one.
        KvLoadServer charged = counted;
        for (String key : multiKeys) {
          if (faulty.contains(placement.get(key))) {
            charged = servers[placement.get(key)];
            break;
          }
        }
        charged.replied(KvDialect.Reply.error(reply.error()), latency);
        return;
      }
      counted.replied(new KvDialect.Reply(KvDialect.Kind.VALUE, null), latency);
      if (reply.values() == null) {
        wrong("client " + id + " multi-get " + multiKeys + " after pair " + first + " answered "
            + reply.other());
        return;
      }
      for (int n = 0; n < multiKeys.size(); n++) {
        checkRead("multi-get", first + n, multiKeys.get(n), stored[offset + n],
            reply.values().get(n));
      }
    }

    /**
     * Checks a value read for {@code key} after pair {@code i} wrote it ({@code null}: none);
     * returns whether it is exactly pair {@code i}'s value.
     */
    private boolean checkRead(String what, long i, String key, boolean stored, String value) {
      boolean relaxed = !stored || faulty.contains(placement.get(key));
      String where = "client " + id + " pair " + i + ": " + what + " " + key;
      if (value == null) {
        if (!relaxed) {
          wrong(where + " found nothing after OK");
        }
        return false;
      }
      if (relaxed && value.equals(KeyPlacement.VALUE)) {
        return false; // the value from before the load: this client's writes failed or were lost
      }
      long written = writtenBy(value);
      if (written < 0 || written > i || !keyOf(written).equals(key)) {
        wrong(where + " answered '" + value + "'");
        return false;
      }
      if (written < i && !relaxed) {
        wrong(where + " answered the older '" + value + "' after OK");
      }
      return written == i;
    }

    /** The request number in a value this client wrote, or -1 if another client wrote it. */
    private long writtenBy(String value) {
      if (!value.startsWith(prefix) || !value.endsWith(":" + padding)) {
        return -1;
      }
      try {
        return Long.parseLong(value, prefix.length(), value.length() - padding.length() - 1, 10);
      } catch (NumberFormatException e) {
        return -1;
      }
    }
  }
}
