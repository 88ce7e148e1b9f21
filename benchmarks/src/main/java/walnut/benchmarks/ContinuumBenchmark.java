package walnut.benchmarks;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import walnut.core.config.Endpoint;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Continuum;
import walnut.core.spi.Distribution;
import walnut.core.spi.HashFunction;
import walnut.hashing.Fnv1a64Hash;
import walnut.hashing.KetamaDistribution;
import walnut.hashing.ModulaDistribution;

/**
 * The cost of routing one hashed key to a server, and of rebuilding a ketama ring.
 *
 * <p>Implementation note. After the hash, every key is looked up in the pool's continuum, so
 * {@code lookup} is on the request path and should allocate nothing. A ketama ring holds 160
 * points per equally weighted server and a lookup is a binary search over them (about 10 steps for
 * 4 servers, 18 for 1024, whose two arrays take 1.3 MB and no longer fit in L2); a modula lookup
 * is one unsigned remainder and an array load, whatever the pool's size. The hash values are
 * random, precomputed into a power-of-two array and taken in turn with a mask, so neither the
 * branch predictor nor the cache sees a single repeated key.
 *
 * <p>{@code buildKetama} measures what an ejection or a server's return costs: a whole new ring
 * for 64 servers (2,560 MD5 digests and a sort of 10,240 points). {@code PoolRouter} rebuilds
 * synchronously on the thread that records the ejection, or on the first lookup after a retry
 * time passes, which is an event loop serving clients: this number is how long that loop stalls.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class ContinuumBenchmark {

  /** Hash values per run: a power of two for the mask, 64 KiB so they stay in L2. */
  static final int HASH_COUNT = 1 << 14;
  static final int MASK = HASH_COUNT - 1;

  /** The distributions that build a lookup table ({@code random} needs no key). */
  public enum Kind {
    KETAMA(KetamaDistribution::new),
    MODULA(ModulaDistribution::new);

    private final Supplier<Distribution> factory;

    Kind(Supplier<Distribution> factory) {
      this.factory = factory;
    }

    Distribution create() {
      return factory.get();
    }
  }

  /** A built continuum and the hashes to look up; per thread because the cursor is mutable. */
  @State(Scope.Thread)
  public static class LookupState {
    @Param
    Kind distribution;

    @Param({"4", "64", "1024"})
    int servers;

    Continuum continuum;
    final int[] hashes = new int[HASH_COUNT];
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      continuum = distribution.create().build(servers(servers), new Fnv1a64Hash());
      SplittableRandom random = new SplittableRandom(42); // fixed: the same hashes in every run
      for (int i = 0; i < HASH_COUNT; i++) {
        hashes[i] = random.nextInt();
      }
    }
  }

  /** The servers of a 64-server pool, for the rebuild; no {@code @Param}, so it runs once. */
  @State(Scope.Benchmark)
  public static class BuildState {
    final Distribution ketama = new KetamaDistribution();
    final HashFunction hash = new Fnv1a64Hash();
    List<ServerConfig> servers;

    @Setup(Level.Trial)
    public void setUp() {
      servers = servers(64);
    }
  }

  @Benchmark
  public int lookup(LookupState state) {
    return state.continuum.serverFor(state.hashes[state.next++ & MASK]);
  }

  @Benchmark
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  public Continuum buildKetama(BuildState state) {
    return state.ketama.build(state.servers, state.hash);
  }

  /**
   * {@code count} equally weighted servers named as twemproxy names {@code host:port} lines, in
   * the sorted order a {@link Distribution} is given.
   */
  static List<ServerConfig> servers(int count) {
    List<ServerConfig> servers = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      servers.add(ServerConfig.of(Endpoint.tcp("10.0." + (i >> 8) + "." + (i & 0xff), 6379), 1));
    }
    servers.sort(Comparator.comparing(ServerConfig::name, ServerConfig.NAME_ORDER));
    return servers;
  }
}
