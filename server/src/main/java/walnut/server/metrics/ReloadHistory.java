package walnut.server.metrics;

import walnut.core.stats.ProxyStats;

/**
 * What the configuration reloads of this process came to, for the metrics endpoint: attempts,
 * failures, and whether the last one took effect. The configuration loaded at start counts as a
 * success at start time, as Prometheus counts its own.
 *
 * <p>Thread-safe: written by the reloading thread, read by scrapes.
 */
public final class ReloadHistory {

  /** A consistent reading. */
  public record Snapshot(long attempts, long failures, boolean lastSucceeded,
      long lastSuccessMillis, long lastAttemptMillis) {}

  private Snapshot current;

  public ReloadHistory(long startMillis) {
    current = new Snapshot(0, 0, true, startMillis, startMillis);
  }

  public synchronized void record(ProxyStats.Reload reload) {
    Snapshot s = current;
    current = new Snapshot(s.attempts() + 1, s.failures() + (reload.succeeded() ? 0 : 1),
        reload.succeeded(), reload.succeeded() ? reload.atMillis() : s.lastSuccessMillis(),
        reload.atMillis());
  }

  public synchronized Snapshot snapshot() {
    return current;
  }
}
