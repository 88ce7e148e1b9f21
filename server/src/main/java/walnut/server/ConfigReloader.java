package walnut.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.ProxyConfig;
import walnut.core.plugin.PluginRegistry;
import walnut.core.proxy.ProxyServer;
import walnut.core.stats.ProxyStats;
import walnut.server.metrics.ReloadHistory;

/**
 * Reloads {@code nutcracker.yml} into the running proxy, on SIGUSR1 or, with
 * {@code --watch-config}, when the file's contents change.
 *
 * <p>The file is read and checked exactly as at start ({@link ConfigCheck}: the same loader, the
 * same plug-in checks). A file that fails is rejected: the error is logged, the running
 * configuration keeps serving and the stats record the failure. One that passes goes to
 * {@link ProxyServer#reload}, which is all or nothing (a listener that cannot bind rejects the
 * whole file the same way). Either way the attempt is recorded in {@link ProxyStats#reloaded} and
 * in the metrics' {@link ReloadHistory}.
 *
 * <p>Watching polls the file every second and compares its bytes' digest, not its modification
 * time: that sees an edit within the same second, a file replaced by a rename or a changed
 * symlink target (Kubernetes config maps), where a directory watch would not. A change is acted on
 * once two polls in a row read the same new contents, so a file caught half-written is not
 * reloaded; contents that were rejected once are not retried until they change (SIGUSR1 always
 * retries).
 *
 * <p>Threading: every reload and poll runs on one daemon thread, so they never overlap;
 * {@link #requestReload} may be called from any thread and returns at once.
 */
final class ConfigReloader implements AutoCloseable {

  static final Duration WATCH_INTERVAL = Duration.ofSeconds(1);

  private static final Logger log = LoggerFactory.getLogger(ConfigReloader.class);

  private final Path file;
  private final PluginRegistry plugins;
  private final ProxyServer proxy;
  private final ReloadHistory history;
  private final ScheduledExecutorService thread;
  // Confined to the reload thread.
  private byte[] handled;
  private byte[] seen;

  /**
   * {@code loaded} is the digest of the file as it was read at start ({@link #digest}, taken
   * before the load, so an edit racing the start is reloaded rather than missed).
   */
  ConfigReloader(Path file, byte[] loaded, PluginRegistry plugins, ProxyServer proxy,
      ReloadHistory history, boolean watch) {
    this.file = file;
    this.plugins = plugins;
    this.proxy = proxy;
    this.history = history;
    this.handled = loaded;
    this.seen = loaded;
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "walnut-reload");
      t.setDaemon(true);
      return t;
    });
    if (watch) {
      long every = WATCH_INTERVAL.toMillis();
      thread.scheduleWithFixedDelay(this::poll, every, every, TimeUnit.MILLISECONDS);
      log.info("watching configuration file '{}' for changes", file);
    }
  }

  /** Reloads on the reload thread; {@code trigger} says why, for the log. */
  void requestReload(String trigger) {
    try {
      thread.execute(() -> reload(trigger, digest(file)));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      log.warn("configuration reload ({}) ignored: shutting down", trigger);
    }
  }

  private void poll() {
    byte[] now = digest(file);
    if (now == null) {
      seen = null; // missing for a moment (an editor's rename); look again next time
      return;
    }
    if (!Arrays.equals(now, handled) && Arrays.equals(now, seen)) {
      reload("configuration file changed", now);
    }
    seen = now;
  }

  private void reload(String trigger, byte[] digest) {
    handled = digest;
    long at = System.currentTimeMillis();
    String error;
    try {
      ProxyConfig next = ConfigCheck.load(file, plugins);
      RunningProxy.warnAboutTwemproxyDifferences(next);
      proxy.reload(next);
      error = null;
    } catch (ConfigCheck.InvalidConfigException e) {
      error = e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error = "interrupted";
    } catch (RuntimeException e) {
      error = e.getMessage() == null ? e.toString() : e.getMessage();
    }
    ProxyStats.Reload result = new ProxyStats.Reload(at, error);
    proxy.stats().reloaded(result);
    history.record(result);
    if (error == null) {
      log.info("configuration '{}' reloaded ({}): {} pools", file, trigger,
          proxy.config().pools().size());
    } else {
      log.error("configuration '{}' rejected ({}): {}; the running configuration keeps serving",
          file, trigger, error);
    }
  }

  /** SHA-256 of the file's bytes, or null when it cannot be read now. */
  static byte[] digest(Path file) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
    } catch (IOException e) {
      return null;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  @Override
  public void close() {
    thread.shutdown(); // a reload under way finishes: ProxyServer.reload is not to be interrupted
    try {
      if (!thread.awaitTermination(30, TimeUnit.SECONDS)) {
        thread.shutdownNow();
      }
    } catch (InterruptedException e) {
      thread.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
