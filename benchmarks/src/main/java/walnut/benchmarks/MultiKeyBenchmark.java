package walnut.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.infra.Blackhole;
import walnut.core.config.PoolConfig;
import walnut.core.proxy.ProxyServer;
import walnut.core.routing.PoolRouter;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;
import walnut.redis.RedisProtocol;

/**
 * Splitting an MGET into one sub-request per server and merging the servers' replies back in the
 * client's key order (the Redis protocol's {@code MultiKeySplitter}), for 10 and 100 keys over
 * pools of 3 and 16 servers.
 *
 * <p>Implementation note. The splitter is the one the request decoder attaches to an MGET, and the
 * router is core's {@link PoolRouter} with twemproxy's defaults (fnv1a_64, ketama), so the keys
 * fall on servers as they would in the proxy: 10 keys over 16 servers make about 8 fragments.
 * {@code split} routes every key, builds the fragments and releases them (the engine hands them
 * to backend connections, which release them once written); {@code merge} builds the client's
 * reply from one precomputed sub-reply per fragment (32-byte values) and releases it;
 * {@code splitAndMerge} is both, the proxy's whole extra work for a multi-key request. The inputs
 * are 64 MGETs of different keys taken in turn, in direct memory of the proxy's allocator. With
 * {@code -prof gc}, {@code gc.alloc.rate.norm} is the garbage per MGET: the split's index arrays
 * and its {@code Split} object grow with the keys.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {Forks.NO_LEAK_DETECTION, Forks.EVENT_LOOP_THREADS,
    Forks.EVENT_LOOP_THREADS_CLASS})
public class MultiKeyBenchmark {

  static final int INPUT_COUNT = 64;
  static final int MASK = INPUT_COUNT - 1;

  /** The MGETs, their splits and the servers' replies; per thread because the cursor is. */
  @State(Scope.Thread)
  public static class MgetState {
    @Param({"10", "100"})
    int keys;

    @Param({"3", "16"})
    int servers;

    final ByteBufAllocator alloc = ProxyServer.ALLOCATOR;
    final ByteBuf[] frames = new ByteBuf[INPUT_COUNT];
    /** Per input, one MGET reply per fragment, in fragment order. */
    final ByteBuf[][] replies = new ByteBuf[INPUT_COUNT][];
    /** Per input, a split whose fragments are gone, for {@code merge} alone. */
    final Splitter.Split[] splits = new Splitter.Split[INPUT_COUNT];
    Splitter splitter;
    PoolRouter router;
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      PoolConfig pool = Pools.redis(servers);
      router = Pools.router(pool);
      RespText text = new RespText(42); // fixed: the same keys in every run
      for (int i = 0; i < INPUT_COUNT; i++) {
        String[] argv = new String[keys + 1];
        argv[0] = "MGET";
        for (int k = 1; k <= keys; k++) {
          argv[k] = text.key();
        }
        frames[i] = RespText.direct(RespText.command(argv));
        if (splitter == null) {
          splitter = splitterOf(pool, frames[i]);
        }
        Splitter.Split split = splitter.split(frames[i], router, alloc);
        replies[i] = new ByteBuf[split.size()];
        int total = 0;
        for (int f = 0; f < split.size(); f++) {
          ByteBuf fragment = split.fragment(f);
          int fragmentKeys = argumentCount(fragment) - 1;
          fragment.release();
          total += fragmentKeys;
          replies[i][f] = RespText.direct(text.bulkArray(fragmentKeys));
        }
        if (total != keys) {
          throw new IllegalStateException("fragments hold " + total + " keys (expected: " + keys
              + ")");
        }
        splits[i] = split;
        ByteBuf merged = split.merge(replies[i], alloc);
        if (merged == null || argumentCount(merged) != keys) {
          throw new IllegalStateException("merge of " + keys + " keys failed: " + merged);
        }
        merged.release();
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      for (int i = 0; i < INPUT_COUNT; i++) {
        if (frames[i] != null) {
          frames[i].release();
          frames[i] = null;
          for (ByteBuf r : replies[i]) {
            r.release();
          }
        }
      }
    }

    int nextIndex() {
      return next++ & MASK;
    }

    /** The splitter Walnut's request decoder attaches to an MGET. */
    private static Splitter splitterOf(PoolConfig pool, ByteBuf mget) {
      EmbeddedChannel channel = new EmbeddedChannel(new RedisProtocol().newRequestDecoder(pool));
      try {
        channel.writeInbound(mget.retainedDuplicate());
        Request request = channel.readInbound();
        request.release();
        if (request.kind() != Request.Kind.SPLIT) {
          throw new IllegalStateException("MGET decoded as " + request.kind()
              + " (expected: SPLIT)");
        }
        return request.splitter();
      } finally {
        channel.finishAndReleaseAll();
      }
    }

    /** n of a {@code *<n>\r\n} header. */
    private static int argumentCount(ByteBuf buf) {
      int lf = buf.indexOf(buf.readerIndex(), buf.writerIndex(), (byte) '\n');
      return Integer.parseInt(buf.toString(buf.readerIndex() + 1, lf - buf.readerIndex() - 2,
          StandardCharsets.US_ASCII));
    }
  }

  @Benchmark
  public int split(MgetState state, Blackhole blackhole) {
    Splitter.Split split = state.splitter.split(state.frames[state.nextIndex()], state.router,
        state.alloc);
    int n = split.size();
    for (int f = 0; f < n; f++) {
      blackhole.consume(split.server(f));
      split.fragment(f).release();
    }
    return n;
  }

  @Benchmark
  public int merge(MgetState state) {
    int i = state.nextIndex();
    ByteBuf merged = state.splits[i].merge(state.replies[i], state.alloc);
    int length = merged.readableBytes();
    merged.release();
    return length;
  }

  @Benchmark
  public int splitAndMerge(MgetState state, Blackhole blackhole) {
    int i = state.nextIndex();
    Splitter.Split split = state.splitter.split(state.frames[i], state.router, state.alloc);
    for (int f = 0; f < split.size(); f++) {
      blackhole.consume(split.server(f));
      split.fragment(f).release();
    }
    ByteBuf merged = split.merge(state.replies[i], state.alloc);
    int length = merged.readableBytes();
    merged.release();
    return length;
  }
}
