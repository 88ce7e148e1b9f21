package walnut.hashing;

import jakarta.inject.Inject;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Continuum;
import walnut.core.spi.Distribution;
import walnut.core.spi.HashFunction;

/**
 * twemproxy's {@code random} distribution (docs/compatibility.md#random): every lookup picks one of
 * the live servers uniformly, ignoring the hash and the weights.
 *
 * <p>twemproxy uses libc's {@code random()} seeded with the time, so its choices cannot be
 * reproduced anyway (docs/compatibility.md#random); {@link ThreadLocalRandom} gives the same
 * distribution with no shared state between event loops and no allocation.
 */
public final class RandomDistribution implements Distribution {

  @Inject
  public RandomDistribution() {}

  @Override
  public String name() {
    return "random";
  }

  /** Builds a picker over {@code servers}; {@code hash} and the weights are not used. */
  @Override
  public Continuum build(List<ServerConfig> servers, HashFunction hash) {
    if (servers.isEmpty()) {
      throw new IllegalArgumentException("random: no live servers (expected: at least one)");
    }
    return new RandomPick(servers.size());
  }

  /** Picks a position in {@code [0, servers)} per lookup. */
  static final class RandomPick implements Continuum {
    private final int servers;

    RandomPick(int servers) {
      this.servers = servers;
    }

    @Override
    public int serverFor(int hash) {
      return servers == 1 ? 0 : ThreadLocalRandom.current().nextInt(servers);
    }
  }
}
