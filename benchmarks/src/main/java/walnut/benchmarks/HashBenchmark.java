package walnut.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.zip.CRC32;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import walnut.core.spi.HashFunction;
import walnut.hashing.Crc16Hash;
import walnut.hashing.Crc32Hash;
import walnut.hashing.Crc32aHash;
import walnut.hashing.Fnv132Hash;
import walnut.hashing.Fnv164Hash;
import walnut.hashing.Fnv1a32Hash;
import walnut.hashing.Fnv1a64Hash;
import walnut.hashing.HsiehHash;
import walnut.hashing.JenkinsHash;
import walnut.hashing.Md5Hash;
import walnut.hashing.MurmurHash;
import walnut.hashing.OneAtATimeHash;

/**
 * The cost of hashing one key with each of twemproxy's twelve hashes, for keys of 8, 32 and 250
 * bytes (short, typical and memcached's longest).
 *
 * <p>Implementation note. Every request is hashed once per key before it is routed, so this is
 * on the request path, and the {@code HashFunction} contract promises it allocates nothing: run
 * with {@code -prof gc} and {@code gc.alloc.rate.norm} should read ~0 B/op for every hash. The
 * keys are random printable ASCII (as real keys are), built once in {@code @Setup} into a
 * power-of-two array and taken in turn with a mask, so the measured method does only the hash and
 * the JIT cannot fold a constant key.
 *
 * <p>Keys live in pooled <em>direct</em> buffers because that is what a hash sees in the proxy:
 * Netty reads sockets into pooled direct memory and the router hashes the key where it lies in
 * the read buffer. Heap buffers would measure a different {@code getByte} (array access instead of
 * an {@code Unsafe} read of native memory). Netty's leak detector is disabled in the fork: it
 * wraps a sample of allocated buffers in another class, which would make the buffer call sites
 * bimorphic here but not in the proxy.
 *
 * <p>Each hash is one value of an enum {@code @Param}. JMH runs each value in its own fork, so the
 * {@code hash} call site stays monomorphic, as it is in a pool configured with one hash.
 *
 * <p>The references are the JDK's {@link CRC32} (an intrinsic) over the same bytes, so that
 * {@code crc32a}, the same function, reads as a ratio: {@code jdkCrc32} copies the key out of its
 * buffer into a reused {@code byte[]} first, which is the price a {@code ByteBuf} caller would pay
 * for the intrinsic and the design {@code walnut.hashing.Crc32} chose against; {@code
 * jdkCrc32OnArray} hashes a precomputed array and is the intrinsic's lower bound.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "-Dio.netty.leakDetection.level=disabled")
public class HashBenchmark {

  /** Keys per run: a power of two for the mask, and more than a branch predictor can learn. */
  static final int KEY_COUNT = 1 << 10;
  static final int MASK = KEY_COUNT - 1;

  /** twemproxy's hashes, named as its {@code hash:} key spells them, upper-cased. */
  public enum Hash {
    ONE_AT_A_TIME(OneAtATimeHash::new),
    MD5(Md5Hash::new),
    CRC16(Crc16Hash::new),
    CRC32(Crc32Hash::new),
    CRC32A(Crc32aHash::new),
    FNV1_64(Fnv164Hash::new),
    FNV1A_64(Fnv1a64Hash::new),
    FNV1_32(Fnv132Hash::new),
    FNV1A_32(Fnv1a32Hash::new),
    HSIEH(HsiehHash::new),
    MURMUR(MurmurHash::new),
    JENKINS(JenkinsHash::new);

    private final Supplier<HashFunction> factory;

    Hash(Supplier<HashFunction> factory) {
      this.factory = factory;
    }

    HashFunction create() {
      HashFunction function = factory.get();
      // A mapping typo would publish one hash's numbers under another's name.
      String expected = name().toLowerCase(Locale.ROOT);
      if (!function.name().equals(expected)) {
        throw new IllegalStateException(
            "hash: '" + function.name() + "' (expected: '" + expected + "')");
      }
      return function;
    }
  }

  /**
   * The keys, in their own state so that the JDK references, which take no {@code Hash}, are not
   * run once per hash. Per thread because the cursor is mutable.
   */
  @State(Scope.Thread)
  public static class KeyState {
    @Param({"8", "32", "250"})
    int keySize;

    final ByteBuf[] buffers = new ByteBuf[KEY_COUNT];
    final byte[][] arrays = new byte[KEY_COUNT][];
    byte[] scratch;
    final CRC32 crc = new CRC32();
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      SplittableRandom random = new SplittableRandom(42); // fixed: the same keys in every run
      for (int i = 0; i < KEY_COUNT; i++) {
        byte[] key = new byte[keySize];
        for (int j = 0; j < keySize; j++) {
          key[j] = (byte) random.nextInt('!', '~' + 1);
        }
        arrays[i] = key;
        buffers[i] = PooledByteBufAllocator.DEFAULT.directBuffer(keySize, keySize).writeBytes(key);
      }
      scratch = new byte[keySize];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      for (int i = 0; i < KEY_COUNT; i++) {
        if (buffers[i] != null) {
          buffers[i].release();
          buffers[i] = null;
        }
      }
    }

    int nextIndex() {
      return next++ & MASK;
    }
  }

  /** The hash under test, per benchmark because it is stateless. */
  @State(Scope.Benchmark)
  public static class HashState {
    @Param
    Hash hash;

    HashFunction function;

    @Setup(Level.Trial)
    public void setUp() {
      function = hash.create();
    }
  }

  @Benchmark
  public int hash(HashState state, KeyState keys) {
    ByteBuf key = keys.buffers[keys.nextIndex()];
    return state.function.hash(key, key.readerIndex(), key.readableBytes());
  }

  @Benchmark
  public int jdkCrc32(KeyState keys) {
    ByteBuf key = keys.buffers[keys.nextIndex()];
    int length = key.readableBytes();
    key.getBytes(key.readerIndex(), keys.scratch, 0, length);
    CRC32 crc = keys.crc;
    crc.reset();
    crc.update(keys.scratch, 0, length);
    return (int) crc.getValue();
  }

  @Benchmark
  public int jdkCrc32OnArray(KeyState keys) {
    byte[] key = keys.arrays[keys.nextIndex()];
    CRC32 crc = keys.crc;
    crc.reset();
    crc.update(key, 0, key.length);
    return (int) crc.getValue();
  }
}
