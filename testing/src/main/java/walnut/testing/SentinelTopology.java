package walnut.testing;

import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
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
 * to a replica; a restarted master likewise says it is a master for about 10 s.
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

  /** How long {@link #start} and {@link #awaitHealthy} wait at most. */
  private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(30);

  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration AGREE_TIMEOUT = Duration.ofSeconds(10);

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

  /** kill -9 of {@code shard}'s master now; returns it, killed. */
  public RedisServer killMaster(String shard) {
    RedisServer master = master(shard);
    master.kill();
    return master;
  }

  /**
   * Sends {@code SENTINEL FAILOVER shard} to the first running sentinel until it says OK: a
   * sentinel refuses with {@code -INPROG} while a failover of the shard runs, and with {@code
   * -NOGOODSLAVE} until it has seen a usable replica (for a while after another failover). Fails on any other answer, or if it still refuses after {@code timeout}.
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
  public SwitchWatch.Switch failover(String shard) {
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
      return SentinelHealth.problem(shards, runningSentinels());
    } catch (UncheckedIOException e) {
      return e.getMessage() + " (" + e.getCause() + ")"; // a server just stopped or restarting
    }
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
}
