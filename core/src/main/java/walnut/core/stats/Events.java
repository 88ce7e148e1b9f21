package walnut.core.stats;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * What happened to the proxy lately, for people to read (the status page): servers ejected,
 * returned and moved, configuration reloads. Bounded: the oldest events go as new ones come.
 *
 * <p>Thread-safe. Events are rare (a server's failure, a reload), never per request.
 */
public final class Events {

  /** What an event is about. */
  public enum Kind {
    EJECTED, RETURNED, MOVED, RELOAD, RELOAD_FAILED;

    /** The name the status page's JSON uses. */
    public String field() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * One event at {@code atMillis} (wall clock); {@code pool} and {@code server} are {@code null}
   * where it is about neither (a reload).
   */
  public record Event(long atMillis, Kind kind, String pool, String server, String text) {}

  private final int capacity;
  private final ArrayDeque<Event> recent;

  public Events(int capacity) {
    this.capacity = capacity;
    this.recent = new ArrayDeque<>(capacity);
  }

  public synchronized void add(Kind kind, String pool, String server, String text) {
    if (recent.size() == capacity) {
      recent.removeFirst();
    }
    // Stamped under the lock, so that the kept order is the order of time.
    recent.addLast(new Event(System.currentTimeMillis(), kind, pool, server, text));
  }

  /** A server of {@code pool} moved to another address (Sentinel: a failover). */
  public void moved(String pool, String server, String text) {
    add(Kind.MOVED, pool, server, text);
  }

  /** The events kept, newest first. */
  public synchronized List<Event> newestFirst() {
    List<Event> out = new ArrayList<>(recent);
    java.util.Collections.reverse(out);
    return out;
  }
}
