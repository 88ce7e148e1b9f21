package walnut.core.tls;

import io.netty.handler.ssl.SslProvider;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.PoolConfig;
import walnut.core.stats.TlsStats;

/**
 * The proxy's TLS contexts, one per pool and side, and the watcher that keeps them in step with
 * their files (docs/compatibility.md#tls). Every {@link #POLL} the files of every context in use
 * are read again: a watch on directories would miss a Kubernetes secret update (it swaps a
 * {@code ..data} symlink, and no event names the file) and a symlink whose target's directory
 * changes; reading a few KiB four times a second costs nothing. A reload and SIGUSR1 check at
 * once ({@link #checkNow}).
 *
 * <p>A reload that keeps a pool's TLS settings keeps its contexts, so a context is made once per
 * setting. Thread-safe.
 */
public final class TlsContexts implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(TlsContexts.class);
  /** How often the files are read again: rotations are seen within this. */
  public static final Duration POLL = Duration.ofMillis(250);

  /** What a context is made for: the same key, the same context. */
  private record Key(String pool, TlsStats.Side side, Object settings) {}

  private final TlsEngine engine;
  private final TlsStats stats;
  private final long clientHandshakeTimeoutMillis;
  private final Map<Key, RotatingTls> contexts = new HashMap<>();
  private ScheduledExecutorService watcher;
  private ExecutorService handshakeTasks;
  private SslProvider provider;
  private boolean closed;

  public TlsContexts(TlsEngine engine, TlsStats stats, Duration clientHandshakeTimeout) {
    this.engine = engine;
    this.stats = stats;
    this.clientHandshakeTimeoutMillis = clientHandshakeTimeout.toMillis();
  }

  /** How long a client has to finish its handshake ({@code --tls-handshake-timeout}). */
  public long clientHandshakeTimeoutMillis() {
    return clientHandshakeTimeoutMillis;
  }

  /** The context {@code pc}'s listener uses, or {@code null} when it speaks plain TCP. */
  public synchronized RotatingTls listener(PoolConfig pc) {
    if (pc.tls() == null) {
      return null;
    }
    Key key = new Key(pc.name(), TlsStats.Side.CLIENT, pc.tls());
    RotatingTls tls = contexts.get(key);
    if (tls == null) {
      tls = RotatingTls.listener(pc.name(), pc.tls(), provider(),
          stats.of(pc.name(), TlsStats.Side.CLIENT));
      contexts.put(key, tls);
      watch();
    }
    return tls;
  }

  /** The context {@code pc}'s connections to its servers use, or {@code null} without TLS. */
  public synchronized RotatingTls backend(PoolConfig pc) {
    if (pc.serverTls() == null) {
      return null;
    }
    Key key = new Key(pc.name(), TlsStats.Side.SERVER, pc.serverTls());
    RotatingTls tls = contexts.get(key);
    if (tls == null) {
      tls = RotatingTls.backend(pc.name(), pc.serverTls(), provider(),
          stats.of(pc.name(), TlsStats.Side.SERVER));
      if (!pc.serverTls().verify()) {
        log.warn("pool '{}': server_tls_verify is false: any server certificate is accepted,"
            + " so a man in the middle is not noticed", pc.name());
      }
      contexts.put(key, tls);
      watch();
    }
    return tls;
  }

  /**
   * The pools are now {@code pools}: contexts no pool uses any more are no longer watched (a
   * generation a reload replaced keeps the one it holds until its connections close).
   */
  public synchronized void retain(Collection<PoolConfig> pools) {
    Set<Key> used = new HashSet<>();
    for (PoolConfig pc : pools) {
      if (pc.tls() != null) {
        used.add(new Key(pc.name(), TlsStats.Side.CLIENT, pc.tls()));
      }
      if (pc.serverTls() != null) {
        used.add(new Key(pc.name(), TlsStats.Side.SERVER, pc.serverTls()));
      }
      stats.of(pc.name(), TlsStats.Side.CLIENT).active(pc.tls() != null);
      stats.of(pc.name(), TlsStats.Side.SERVER).active(pc.serverTls() != null);
    }
    contexts.keySet().retainAll(used);
    for (TlsStats.Counters c : stats.active()) {
      if (pools.stream().noneMatch(pc -> pc.name().equals(c.pool()))) {
        c.active(false);
      }
    }
  }

  /** Reads every context's files now (a reload, SIGUSR1); returns how many were made anew. */
  public int checkNow() {
    RotatingTls[] all;
    synchronized (this) {
      all = contexts.values().toArray(new RotatingTls[0]);
    }
    int reloaded = 0;
    for (RotatingTls tls : all) {
      if (tls.check()) {
        reloaded++;
      }
    }
    return reloaded;
  }

  /**
   * Where the engines' delegated tasks run (an RSA signature, a chain's verification: the
   * milliseconds of a handshake): half the cores, at least one thread, so that a storm of
   * reconnecting clients takes at most that much CPU from the event loops' established clients.
   */
  public synchronized Executor handshakeTasks() {
    if (handshakeTasks == null) {
      int threads = Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
      handshakeTasks = Executors.newFixedThreadPool(threads,
          new DefaultThreadFactory("walnut-tls-handshakes", true));
    }
    return handshakeTasks;
  }

  /** The engine's provider, decided (and logged) on first use. */
  private SslProvider provider() {
    if (provider == null) {
      provider = engine.provider();
      log.info("TLS engine: {}", engine.describe());
    }
    return provider;
  }

  private void watch() {
    if (watcher != null || closed) {
      return;
    }
    watcher = Executors.newSingleThreadScheduledExecutor(
        new DefaultThreadFactory("walnut-tls-files", true));
    watcher.scheduleWithFixedDelay(() -> {
      try {
        checkNow();
      } catch (Throwable e) { // whatever it was, the next poll must still run
        log.warn("checking the TLS files failed: {}", e.toString());
      }
    }, POLL.toMillis(), POLL.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (watcher != null) {
      watcher.shutdownNow();
    }
    if (handshakeTasks != null) {
      handshakeTasks.shutdownNow();
    }
  }
}
