package walnut.core.config;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.collect.ImmutableList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The whole proxy's configuration: its pools, in twemproxy's order (name length, then bytes).
 * Immutable; a new configuration is a new object.
 */
public record ProxyConfig(List<PoolConfig> pools) {

  public ProxyConfig {
    checkArgument(!pools.isEmpty(), "a configuration needs at least one pool");
    Set<String> names = new HashSet<>();
    for (PoolConfig pool : pools) {
      checkArgument(names.add(pool.name()), "pool '%s' is defined twice", pool.name());
    }
    pools = ImmutableList.sortedCopyOf((a, b) -> ServerConfig.NAME_ORDER.compare(a.name(), b.name()),
        pools);
  }

  public static ProxyConfig of(PoolConfig... pools) {
    return new ProxyConfig(List.of(pools));
  }

  /** The pool named {@code name}. */
  public PoolConfig pool(String name) {
    for (PoolConfig pool : pools) {
      if (pool.name().equals(name)) {
        return pool;
      }
    }
    throw new IllegalArgumentException("no pool named '" + name + "'");
  }
}
