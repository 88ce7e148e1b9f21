package walnut.server.config;

import java.util.List;
import java.util.function.Function;
import walnut.core.config.ServerConfig;

/**
 * twemproxy's checks across pools, after each pool passed its own: no two pools with the same
 * raw {@code listen:} text (so {@code 127.0.0.1:1} and {@code localhost:1} pass here and clash
 * only at bind time, as in twemproxy), then no two pools with the same name.
 */
final class PoolChecks {

  private PoolChecks() {}

  static void distinctListens(List<PoolDraft> pools, String fileName) {
    PoolDraft[] pair = firstClash(pools, pool -> pool.listenText);
    if (pair != null) {
      throw ConfigException.at(fileName, pair[1].listenLine, "pools '" + pair[0].name + "' and '"
          + pair[1].name + "' have the same listen address '" + pair[0].listenText + "'");
    }
  }

  static void distinctNames(List<PoolDraft> pools, String fileName) {
    PoolDraft[] pair = firstClash(pools, pool -> pool.name);
    if (pair != null) {
      throw ConfigException.at(fileName, pair[1].line, "has pools with same name '"
          + pair[0].name + "' (lines " + pair[0].line + " and " + pair[1].line + ")");
    }
  }

  /**
   * The first two pools, in file order, sharing the smallest clashing key in twemproxy's string
   * order: twemproxy sorts and reports the first equal neighbours, so with several clashes it
   * names that one.
   */
  private static PoolDraft[] firstClash(List<PoolDraft> pools, Function<PoolDraft, String> key) {
    PoolDraft[] best = null;
    for (int i = 0; i < pools.size(); i++) {
      for (int j = i + 1; j < pools.size(); j++) {
        String k = key.apply(pools.get(i));
        if (k.equals(key.apply(pools.get(j))) && (best == null
            || ServerConfig.NAME_ORDER.compare(k, key.apply(best[0])) < 0)) {
          best = new PoolDraft[] {pools.get(i), pools.get(j)};
          break;
        }
      }
    }
    return best;
  }
}
