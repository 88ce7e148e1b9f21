package walnut.server;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * Sizes Netty's pooled allocator for the process Walnut runs, before any Netty buffer class reads
 * its settings. Netty's defaults suit a server with a large heap on many cores: an arena per two
 * cores, 4 MiB chunks, and thread caches that keep what a burst allocated for ever. A proxy beside
 * every application process wants the memory it used for a burst back once the burst is over:
 *
 * <ul>
 *   <li>one direct and one heap arena per event loop ({@code --threads}): each loop allocates
 *       from its own arena, and an arena that no thread uses only costs its bookkeeping;
 *   <li>1 MiB chunks ({@code maxOrder} 7 with 8 KiB pages): a chunk is the allocator's unit of
 *       memory, so an idle process holds one chunk per loop, not four times that; buffers larger
 *       than a chunk (values of a megabyte and more) are allocated on their own and freed when
 *       released;
 *   <li>thread caches trimmed every 10 s: a cached buffer that was not reused since the last trim
 *       goes back to its chunk, and a chunk left empty goes back to the system.
 * </ul>
 *
 * <p>Each is a system property, so {@code -D} on the command line ({@code WALNUT_JAVA_OPTS})
 * overrides it. The measurements behind the values are in the README ("Memory and the JVM").
 */
final class AllocatorSizing {

  static final String MAX_ORDER = "7";
  static final String TRIM_INTERVAL_MILLIS = "10000";

  private AllocatorSizing() {}

  /** The properties for {@code threads} event loops; every one a user did not set. */
  static Map<String, String> properties(int threads) {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("io.netty.allocator.numDirectArenas", Integer.toString(threads));
    p.put("io.netty.allocator.numHeapArenas", Integer.toString(threads));
    p.put("io.netty.allocator.maxOrder", MAX_ORDER);
    p.put("io.netty.allocator.cacheTrimIntervalMillis", TRIM_INTERVAL_MILLIS);
    return p;
  }

  /**
   * Sets {@link #properties} for {@code threads} event loops in {@code target} (the system
   * properties) where the user did not set them. Must run before Netty's pooled allocator is first
   * used, which reads them once.
   */
  static void apply(int threads, Properties target) {
    properties(threads).forEach(target::putIfAbsent);
  }
}
