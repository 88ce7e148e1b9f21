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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Redis Sentinel on loopback, as the tests of issue #22 need it: shards named {@code shard-a},
 * {@code shard-b}, …, each a master and one replica ({@code redis-server --replicaof}), watched
 * by three sentinels ({@code redis-server sentinel.conf --sentinel}, the plain Debian package,
 * no {@code redis-sentinel}) with quorum 2, {@code down-after-milliseconds} 1000 and a short
 * {@code failover-timeout}.
 *
 * <p>Contract: {@link #start} returns once every replica's link to its master is up and every
 * sentinel knows every master, its replica and the two other sentinels, with {@code SENTINEL
 * CKQUORUM} OK. Every process is a {@link RedisServer} on a free loopback port, stopped by its
 * pid; {@link #close()} stops them all, sentinels first. Which instance is a shard's master
 * changes with each failover, so the current master and replica are always asked of the
 * sentinels ({@link #master}, {@link #replica}), never remembered. Nothing here sleeps: every
 * wait polls with a deadline.
 *
 * <p>Measured on a 2-core machine: the topology starts in 2–3 s (sentinels find each other
 * through the masters' hello channel every 2 s); a kill -9 of a master is followed by {@code
 * +switch-master} 2.2–2.3 s later; {@code SENTINEL FAILOVER} by one 0.7–1.3 s later, with all
 * three sentinels publishing it within a few milliseconds of each other. After a {@code SENTINEL
 * FAILOVER} the old master stays a writable master for about 10 s, until a sentinel converts it
 * to a replica; a restarted master likewise says it is a master for about 10 s, which is why
 * {@link #rejoin} makes it a replica itself.
 *
 * <p>Not thread-safe, except {@link SwitchWatch}, which records from its own threads: drive a
 * topology from the test's thread.
 */
public final class SentinelTopology implements AutoCloseable {

  /** Sentinels that must agree that a master is down, and the number of sentinels. */
  public static final int QUORUM = 2;

  public static final int SENTINELS = 3;

  /** {@code down-after-milliseconds}: how long a master may be silent before it is down. */
  public static final Duration DOWN_AFTER = Duration.ofMillis(1_000);

  /**
   * {@code failover-timeout}. Short, because a sentinel that took part in a failover of a master
   * starts no automatic failover of it again within twice this; long enough for a promotion on a
   * loaded machine (about 1 s), which a sentinel abandons after this.
   */
  public static final Duration FAILOVER_TIMEOUT = Duration.ofMillis(3_000);

  /** How long {@link #start}, {@link #awaitHealthy} and {@link #rejoin} wait at most. */
  private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(30);

  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration AGREE_TIMEOUT = Duration.ofSeconds(10);

  /**
   * One {@code +switch-master} event: {@code shard}'s master moved from {@code from} to {@code
   * to}, first seen by a sentinel connection at {@code nanos} ({@link System#nanoTime()}).
   */
  public record Switch(String shard, InetSocketAddress from, InetSocketAddress to, long nanos) {}

  private final String password;
  private final Map<String, List<RedisServer>> shards = new LinkedHashMap<>();
  private final List<RedisServer> sentinels = new ArrayList<>();
  private final List<SwitchWatch> watches = new ArrayList<>();

  private SentinelTopology(String password) {
    this.password = password;
  }

  /** Two shards ({@code shard-a}, {@code shard-b}), sentinels without a password. */
  public static SentinelTopology start() {
    return start(2, null);
  }

  /**
   * {@code shardCount} shards named {@code shard-a}, {@code shard-b}, …; {@code
   * sentinelPassword}, if not null, is each sentinel's {@code requirepass} (and what they use
   * among themselves, {@code sentinel sentinel-pass}). The redis servers have no password.
   */
  public static SentinelTopology start(int shardCount, String sentinelPassword) {
    if (shardCount < 1 || shardCount > 26) {
      throw new IllegalArgumentException("1 to 26 shards, not " + shardCount);
    }
    SentinelTopology topology = new SentinelTopology(sentinelPassword);
    try {
      for (int i = 0; i < shardCount; i++) {
        RedisServer master = RedisServer.start("--repl-diskless-sync-delay", "0");
        List<RedisServer> instances = new ArrayList<>(List.of(master));
        topology.shards.put("shard-" + (char) ('a' + i), instances);
        instances.add(
            RedisServer.start(
                "--repl-diskless-sync-delay",
                "0",
                "--replicaof",
                master.host(),
                Integer.toString(master.port())));
      }
      for (List<RedisServer> instances : topology.shards.values()) {
        topology.awaitLink(instances.get(1), instances.get(0).port());
      }
      Map<String, Integer> masters = new LinkedHashMap<>();
      topology.shards.forEach((name, instances) -> masters.put(name, instances.get(0).port()));
      for (int i = 0; i < SENTINELS; i++) {
        topology.sentinels.add(
            RedisServer.sentinel(port -> conf(port, masters, sentinelPassword), sentinelPassword));
      }
      topology.awaitHealthy();
      return topology;
    } catch (RuntimeException | Error e) {
      topology.close();
      throw e;
    }
  }

  private static String conf(int port, Map<String, Integer> masters, String password) {
    StringBuilder conf = new StringBuilder();
    conf.append("port ").append(port).append('\n');
    conf.append("bind 127.0.0.1\n");
    conf.append("protected-mode no\n");
    conf.append("daemonize no\n");
    conf.append("sentinel resolve-hostnames no\n");
    if (password != null) {
      conf.append("requirepass \"").append(password).append("\"\n");
      conf.append("sentinel sentinel-pass \"").append(password).append("\"\n");
    }
    masters.forEach(
        (name, masterPort) -> {
          conf.append("sentinel monitor ")
              .append(name)
              .append(" 127.0.0.1 ")
              .append(masterPort)
              .append(' ')
              .append(QUORUM)
              .append('\n');
          conf.append("sentinel down-after-milliseconds ")
              .append(name)
              .append(' ')
              .append(DOWN_AFTER.toMillis())
              .append('\n');
          conf.append("sentinel failover-timeout ")
              .append(name)
              .append(' ')
              .append(FAILOVER_TIMEOUT.toMillis())
              .append('\n');
          conf.append("sentinel parallel-syncs ").append(name).append(" 1\n");
        });
    return conf.toString();
  }

  /** The shards' names, in order: {@code shard-a}, {@code shard-b}, … */
  public List<String> shards() {
    return List.copyOf(shards.keySet());
  }

  /**
   * Every redis-server of {@code shard}, running or killed: at first the master, then the
   * replica; failovers do not change this order.
   */
  public List<RedisServer> instances(String shard) {
    List<RedisServer> instances = shards.get(shard);
    if (instances == null) {
      throw new IllegalArgumentException("no shard " + shard + " (shards: " + shards() + ")");
    }
    return List.copyOf(instances);
  }

  /** The three sentinels, running or stopped, in a fixed order. */
  public List<RedisServer> sentinels() {
    return List.copyOf(sentinels);
  }

  /** Sentinel {@code i}'s address, as a pool's {@code sentinels:} lists it. */
  public InetSocketAddress sentinelAddress(int i) {
    return sentinels.get(i).address();
  }

  /** The sentinels' {@code requirepass}, or null. */
  public String password() {
    return password;
  }

  /**
   * Where {@code shard}'s master is now, by {@code SENTINEL GET-MASTER-ADDR-BY-NAME}: once every
   * running sentinel gives the same answer (they differ for a few milliseconds around a switch).
   * Fails if no sentinel runs or they do not agree within 10 s.
   */
  public InetSocketAddress masterAddress(String shard) {
    instances(shard);
    AtomicReference<String> why = new AtomicReference<>();
    AtomicReference<InetSocketAddress> agreed = new AtomicReference<>();
    boolean found =
        Poll.within(
            AGREE_TIMEOUT,
            () -> {
              List<RedisServer> running = runningSentinels();
              if (running.isEmpty()) {
                throw new IllegalStateException("no sentinel runs to ask where " + shard + " is");
              }
              InetSocketAddress seen = null;
              for (RedisServer sentinel : running) {
                Object reply;
                try {
                  reply = sentinel.command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", shard);
                } catch (UncheckedIOException e) {
                  why.set(e.getMessage() + " (" + e.getCause() + ")");
                  return false;
                }
                if (!(reply instanceof List<?> address) || address.size() != 2) {
                  why.set(sentinel + " answered " + reply);
                  return false;
                }
                InetSocketAddress here =
                    new InetSocketAddress(
                        (String) address.get(0), Integer.parseInt((String) address.get(1)));
                if (seen != null && !seen.equals(here)) {
                  why.set("sentinels disagree: " + seen + " and " + here);
                  return false;
                }
                seen = here;
              }
              agreed.set(seen);
              return true;
            });
    if (!found) {
      throw new IllegalStateException(
          "the sentinels name no one master of " + shard + " within " + AGREE_TIMEOUT + ": " + why);
    }
    return agreed.get();
  }

  /** The instance the sentinels name as {@code shard}'s master now ({@link #masterAddress}). */
  public RedisServer master(String shard) {
    InetSocketAddress address = masterAddress(shard);
    return instances(shard).stream()
        .filter(r -> r.port() == address.getPort())
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalStateException(
                    "the sentinels name " + address + ", not one of " + shard + "'s instances"));
  }

  /** A running instance of {@code shard} other than its master now; fails if none runs. */
  public RedisServer replica(String shard) {
    int masterPort = masterAddress(shard).getPort();
    return instances(shard).stream()
        .filter(r -> r.port() != masterPort && r.isRunning())
        .findFirst()
        .orElseThrow(() -> new IllegalStateException(shard + " has no running replica"));
  }

  /** kill -9 of {@code shard}'s master now; returns it, killed, for {@link #rejoin}. */
  public RedisServer killMaster(String shard) {
    RedisServer master = master(shard);
    master.kill();
    return master;
  }

  /**
   * Sends {@code SENTINEL FAILOVER shard} to the first running sentinel until it says OK: a
   * sentinel refuses with {@code -INPROG} while a failover of the shard runs, and with {@code
   * -NOGOODSLAVE} until it has seen a usable replica (for a while after another failover or a
   * {@link #rejoin}). Fails on any other answer, or if it still refuses after {@code timeout}.
   * Returns at once: watch for the switch with a {@link #watch()} opened before.
   */
  public void requestFailover(String shard, Duration timeout) {
    instances(shard);
    AtomicReference<Object> last = new AtomicReference<>();
    boolean accepted =
        Poll.within(
            timeout,
            () -> {
              RedisServer sentinel =
                  runningSentinels().stream()
                      .findFirst()
                      .orElseThrow(() -> new IllegalStateException("no sentinel runs"));
              Object reply = sentinel.command("SENTINEL", "FAILOVER", shard);
              last.set(reply);
              if ("OK".equals(reply)) {
                return true;
              }
              if (reply instanceof RedisServer.ErrorReply e
                  && (e.message().startsWith("INPROG") || e.message().startsWith("NOGOODSLAVE"))) {
                return false;
              }
              throw new IllegalStateException("SENTINEL FAILOVER " + shard + ": " + reply);
            });
    if (!accepted) {
      throw new IllegalStateException(
          "SENTINEL FAILOVER " + shard + " still refused after " + timeout + ": " + last.get());
    }
  }

  /**
   * {@code SENTINEL FAILOVER shard}, retried as {@link #requestFailover} does for up to 30 s, and
   * its {@code +switch-master}, awaited for 10 s more.
   */
  public Switch failover(String shard) {
    try (SwitchWatch watch = watch()) {
      requestFailover(shard, SETTLE_TIMEOUT);
      return watch.await(shard, Duration.ofSeconds(10));
    }
  }

  /**
   * Subscribes to {@code +switch-master} on every running sentinel and returns once all
   * subscriptions are confirmed, so no switch after this call is missed. Closed by the caller, or
   * with the topology.
   */
  public SwitchWatch watch() {
    SwitchWatch watch = new SwitchWatch(runningSentinels(), password);
    watches.add(watch);
    return watch;
  }

  /** Stops sentinel {@code i} (kill -9: it saves its state as it changes, not at exit). */
  public void stopSentinel(int i) {
    sentinels.get(i).kill();
  }

  /**
   * Starts sentinel {@code i} again on its port, with the configuration it last wrote, and
   * returns once it answers PING. It may take a moment more to hear from the others.
   */
  public void startSentinel(int i) {
    sentinels.get(i).restart();
  }

  /**
   * Brings back {@code instance}, a killed instance of a shard, as a replica of the shard's
   * master now: restarts it (empty), sends {@code REPLICAOF} at once rather than wait about 10 s
   * for a sentinel to, and returns once its link is up and every running sentinel sees it as a
   * replica again; so that the shard can fail over once more.
   */
  public void rejoin(RedisServer instance) {
    String shard =
        shards.entrySet().stream()
            .filter(e -> e.getValue().contains(instance))
            .map(Map.Entry::getKey)
            .findFirst()
            .orElseThrow(() -> new IllegalArgumentException(instance + " is in no shard"));
    InetSocketAddress master = masterAddress(shard);
    if (instance.port() == master.getPort()) {
      throw new IllegalStateException(instance + " is " + shard + "'s master: nothing to rejoin");
    }
    instance.restart();
    Object reply =
        instance.command(
            "REPLICAOF", master.getHostString(), Integer.toString(master.getPort()));
    if (!"OK".equals(reply)) {
      throw new IllegalStateException("REPLICAOF on " + instance + ": " + reply);
    }
    awaitLink(instance, master.getPort());
    awaitHealthy();
  }

  /**
   * Waits until, for every shard, all running sentinels name the same master, which runs and says
   * it is a master; each other running instance is its replica with the link up, and every running
   * sentinel sees it as a replica ({@code flags} exactly {@code slave}); every running sentinel
   * knows the {@value #SENTINELS} sentinels; and, with two or more running, {@code SENTINEL
   * CKQUORUM} is OK. Fails after 30 s, saying what was still missing.
   */
  public void awaitHealthy() {
    AtomicReference<String> missing = new AtomicReference<>();
    boolean healthy =
        Poll.within(
            SETTLE_TIMEOUT,
            () -> {
              missing.set(unhealthy());
              return missing.get() == null;
            });
    if (!healthy) {
      throw new IllegalStateException(
          "the sentinel topology did not settle within " + SETTLE_TIMEOUT + ": " + missing.get());
    }
  }

  /** What keeps the topology from being healthy, or null if nothing. */
  private String unhealthy() {
    try {
      return unhealthyOrThrow();
    } catch (UncheckedIOException e) {
      return e.getMessage() + " (" + e.getCause() + ")"; // a server just stopped or restarting
    }
  }

  private String unhealthyOrThrow() {
    List<RedisServer> running = runningSentinels();
    if (running.isEmpty()) {
      return "no sentinel runs";
    }
    for (Map.Entry<String, List<RedisServer>> shard : shards.entrySet()) {
      String name = shard.getKey();
      Integer masterPort = null;
      for (RedisServer sentinel : running) {
        Map<String, String> master = fields(sentinel.command("SENTINEL", "MASTER", name));
        if (master == null) {
          return sentinel + " does not know " + name;
        }
        if (!"master".equals(master.get("flags"))) {
          return sentinel + " flags " + name + " " + master.get("flags");
        }
        int port = Integer.parseInt(master.get("port"));
        if (masterPort != null && masterPort != port) {
          return "sentinels disagree on " + name + "'s master: " + masterPort + " and " + port;
        }
        masterPort = port;
        if (!Integer.toString(SENTINELS - 1).equals(master.get("num-other-sentinels"))) {
          return sentinel + " knows " + master.get("num-other-sentinels") + " other sentinels";
        }
        Object replicas = sentinel.command("SENTINEL", "REPLICAS", name);
        for (RedisServer instance : shard.getValue()) {
          if (instance.port() == port || !instance.isRunning()) {
            continue;
          }
          if (!seenAsReplica(replicas, instance.port())) {
            return sentinel + " does not see " + instance + " as a usable replica: " + replicas;
          }
        }
      }
      int agreed = masterPort;
      RedisServer master =
          shard.getValue().stream().filter(r -> r.port() == agreed).findFirst().orElse(null);
      if (master == null || !master.isRunning()) {
        return name + "'s master on port " + agreed + " does not run";
      }
      Object role = master.command("ROLE");
      if (!(role instanceof List<?> r) || !"master".equals(r.get(0))) {
        return master + " (" + name + "'s master) says " + role;
      }
      boolean anyReplica = false;
      for (RedisServer instance : shard.getValue()) {
        if (instance.port() != agreed && instance.isRunning()) {
          String info = (String) instance.command("INFO", "replication");
          if (!info.contains("master_port:" + agreed + "\r\n")
              || !info.contains("master_link_status:up")) {
            return instance + " is not linked to " + master + ": " + info;
          }
          anyReplica = true;
        }
      }
      if (!anyReplica) {
        return name + " has no running replica";
      }
    }
    if (running.size() >= QUORUM) {
      for (String name : shards.keySet()) {
        Object quorum = running.get(0).command("SENTINEL", "CKQUORUM", name);
        if (!(quorum instanceof String s) || !s.startsWith("OK")) {
          return "CKQUORUM " + name + ": " + quorum;
        }
      }
    }
    return null;
  }

  private static boolean seenAsReplica(Object replicas, int port) {
    if (!(replicas instanceof List<?> list)) {
      return false;
    }
    for (Object entry : list) {
      Map<String, String> replica = fields(entry);
      if (replica != null
          && Integer.toString(port).equals(replica.get("port"))
          && "slave".equals(replica.get("flags"))) {
        return true;
      }
    }
    return false;
  }

  /** A sentinel's flat list of names and values as a map; null for anything else. */
  private static Map<String, String> fields(Object reply) {
    if (!(reply instanceof List<?> list) || list.size() % 2 != 0) {
      return null;
    }
    Map<String, String> fields = new HashMap<>();
    for (int i = 0; i < list.size(); i += 2) {
      fields.put(String.valueOf(list.get(i)), String.valueOf(list.get(i + 1)));
    }
    return fields;
  }

  private void awaitLink(RedisServer replica, int masterPort) {
    AtomicReference<Object> info = new AtomicReference<>();
    Supplier<Boolean> linked =
        () -> {
          info.set(replica.command("INFO", "replication"));
          return info.get() instanceof String s
              && s.contains("master_port:" + masterPort + "\r\n")
              && s.contains("master_link_status:up");
        };
    if (!Poll.within(SETTLE_TIMEOUT, linked::get)) {
      throw new IllegalStateException(
          replica + " did not link to port " + masterPort + " within " + SETTLE_TIMEOUT + ": "
              + info.get());
    }
  }

  private List<RedisServer> runningSentinels() {
    return sentinels.stream().filter(RedisServer::isRunning).toList();
  }

  /**
   * GET {@code key} directly on the redis-server at {@code server} (no proxy): the value, null if
   * it has none, or a {@link RedisServer.ErrorReply}.
   */
  public static Object get(InetSocketAddress server, String key) {
    return RedisServer.call(server.getPort(), null, COMMAND_TIMEOUT, "GET", key);
  }

  /** Stops every sentinel, then every redis-server, by pid. Idempotent. */
  @Override
  public void close() {
    RuntimeException failure = null;
    for (SwitchWatch watch : watches) {
      watch.close();
    }
    List<RedisServer> all = new ArrayList<>(sentinels);
    shards.values().forEach(all::addAll);
    for (RedisServer server : all) {
      try {
        server.close();
      } catch (RuntimeException e) {
        if (failure == null) {
          failure = e;
        } else {
          failure.addSuppressed(e);
        }
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /**
   * A subscription to {@code +switch-master} on several sentinels, recording each switch once,
   * at the instant the first sentinel reported it. Thread-safe: one reader thread per sentinel.
   */
  public static final class SwitchWatch implements AutoCloseable {
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
}
