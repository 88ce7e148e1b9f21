package walnut.redis;

import io.netty.channel.EventLoop;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import walnut.core.config.Endpoint;

/**
 * The sentinel connections of one proxy: one {@link SentinelLink} per sentinel address and
 * password, whichever pools and pool generations list it, so a process keeps one set of
 * connections per sentinel however many pools its sentinels watch, and a reload reuses them. The
 * engine runs every pool's watch on its first event loop, so one hub per event loop is one per
 * proxy (and two proxies in one JVM, as in tests, stay apart).
 *
 * <p>Confined to its event loop, except {@link #on}.
 */
final class SentinelHub {

  private static final Map<EventLoop, SentinelHub> HUBS = new ConcurrentHashMap<>();

  private record Key(Endpoint address, String password) {}

  private final EventLoop loop;
  private final Map<Key, SentinelLink> links = new HashMap<>();

  private SentinelHub(EventLoop loop) {
    this.loop = loop;
  }

  /** The hub of {@code loop}. Any thread. */
  static SentinelHub on(EventLoop loop) {
    return HUBS.computeIfAbsent(loop, SentinelHub::new);
  }

  EventLoop loop() {
    return loop;
  }

  /**
   * The link to {@code address} with {@code password}, made if there is none; the caller
   * {@linkplain SentinelLink#join joins} it at once (a link nobody joined is never closed).
   */
  SentinelLink link(Endpoint address, String password) {
    Key key = new Key(address, password);
    SentinelLink link = links.get(key);
    if (link == null) {
      link = new SentinelLink(address, password, loop, () -> {
        links.remove(key);
        if (links.isEmpty()) {
          HUBS.remove(loop, this); // a stopped proxy's loop is not kept
        }
      });
      links.put(key, link);
    }
    return link;
  }

  /** How many sentinel links are open (tests). */
  int links() {
    return links.size();
  }
}
