package walnut.redis;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scripts loaded through Walnut with {@code SCRIPT LOAD}, per pool (by name) and for the whole
 * process: every new server connection loads them in its handshake
 * ({@link RedisProtocol#handshake(walnut.core.config.PoolConfig, int,
 * io.netty.buffer.ByteBufAllocator)}), so a server that restarted empty, or one a reload added,
 * has them before the first request on that connection, and {@code EVALSHA} keeps working
 * (docs/compatibility.md#scripts).
 *
 * <p>Bounded: at most {@link #MAX_SCRIPTS} scripts and {@link #MAX_BYTES} bytes of script bodies
 * per pool; past that a script is still loaded on the servers but not remembered, with one WARN
 * until {@code SCRIPT FLUSH} empties the registry. Thread-safe: client event loops remember,
 * backend connections read.
 */
final class ScriptRegistry {

  private static final Logger log = LoggerFactory.getLogger(ScriptRegistry.class);

  static final int MAX_SCRIPTS = 1000;
  static final long MAX_BYTES = 1L << 20;

  private static final Map<String, ScriptRegistry> POOLS = new ConcurrentHashMap<>();

  private final String pool;
  private final Map<String, byte[]> scripts = new LinkedHashMap<>();
  private long bytes;
  private boolean warned;

  private ScriptRegistry(String pool) {
    this.pool = pool;
  }

  /** The registry of the pool named {@code pool}. */
  static ScriptRegistry of(String pool) {
    return POOLS.computeIfAbsent(pool, ScriptRegistry::new);
  }

  /**
   * Remembers {@code body} under its SHA1 {@code sha} (lower-case hex, as the servers answer);
   * false when the registry is full and it was not remembered.
   */
  synchronized boolean remember(String sha, byte[] body) {
    if (scripts.containsKey(sha)) {
      return true;
    }
    if (scripts.size() >= MAX_SCRIPTS || bytes + body.length > MAX_BYTES) {
      if (!warned) {
        warned = true;
        log.warn("pool '{}': {} scripts ({} bytes) loaded through Walnut are remembered, the most"
            + " it keeps ({} scripts, {} bytes): script {} and later ones are not loaded on a"
            + " server that restarts or is added until SCRIPT FLUSH", pool, scripts.size(),
            bytes, MAX_SCRIPTS, MAX_BYTES, sha);
      }
      return false;
    }
    scripts.put(sha, body);
    bytes += body.length;
    return true;
  }

  /** {@code SCRIPT FLUSH}: forgets every script. */
  synchronized void clear() {
    scripts.clear();
    bytes = 0;
    warned = false;
  }

  /** The bodies remembered now, in the order they were loaded. */
  synchronized List<byte[]> bodies() {
    return new ArrayList<>(scripts.values());
  }

  synchronized boolean contains(String sha) {
    return scripts.containsKey(sha);
  }
}
