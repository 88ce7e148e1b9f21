package walnut.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.handler.codec.redis.RedisArrayAggregator;
import io.netty.handler.codec.redis.RedisBulkStringAggregator;
import io.netty.handler.codec.redis.RedisDecoder;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
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
import walnut.core.routing.PoolRouter;
import walnut.redis.RedisProtocol;

/**
 * Decoding client requests: Walnut's {@code RedisRequestDecoder} against Netty's
 * {@code RedisDecoder} + {@code RedisBulkStringAggregator} + {@code RedisArrayAggregator} on the
 * same bytes, and Walnut's decoder followed by routing, which is what the proxy does with a
 * request before it forwards it.
 *
 * <p>Implementation note. One operation decodes one input buffer as a socket read would deliver
 * it: one command ({@code GET}, {@code SET} of a 32-byte value, {@code MGET} of 10 keys) or a
 * pipelined batch of 16 or 64 commands alternating GET and SET, so the cost per command of a
 * batch is the score divided by its size. Each decoder runs in an embedded pipeline fed directly
 * (see {@link DecoderPipeline}); every decoded message is released, as the engine releases a
 * request once forwarded. The inputs are 64 buffers of different keys, taken in turn with a mask,
 * in direct memory of the proxy's allocator ({@code ProxyServer.ALLOCATOR}), as its reads are.
 *
 * <p>{@code decode} compares the two decoders through the {@link Decoder} {@code @Param}; both
 * frame every argument, Netty's also builds a message object per bulk string and one per array.
 * {@code decodeAndRoute} adds what the proxy does next: a single-key request's key is hashed
 * (fnv1a_64) and looked up on the ketama ring of a 3-server pool by core's {@link PoolRouter}; an
 * MGET is split into per-server fragments, which are released ({@link RoutingSink}). With
 * {@code -prof gc}, {@code gc.alloc.rate.norm} is the garbage per input buffer: the goal is
 * ~0 B/op for single-key requests.
 *
 * <p>The fork runs the benchmark on a {@code FastThreadLocalThread}, as the proxy's event loops
 * are ({@link EventLoopThreads}), without Netty's leak detector ({@link Forks}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {Forks.NO_LEAK_DETECTION, Forks.EVENT_LOOP_THREADS,
    Forks.EVENT_LOOP_THREADS_CLASS})
public class RespRequestBenchmark {

  /** Input buffers per run: a power of two for the mask. */
  static final int INPUT_COUNT = 64;
  static final int MASK = INPUT_COUNT - 1;

  /** What one input buffer holds. */
  public enum Input {
    GET(1), SET(1), MGET_10(1), PIPELINE_16(16), PIPELINE_64(64);

    /** Commands in one buffer. */
    final int commands;

    Input(int commands) {
      this.commands = commands;
    }

    byte[] build(RespText text) {
      return switch (this) {
        case GET -> RespText.command("GET", text.key());
        case SET -> RespText.command("SET", text.key(), text.value());
        case MGET_10 -> {
          String[] argv = new String[11];
          argv[0] = "MGET";
          for (int i = 1; i < argv.length; i++) {
            argv[i] = text.key();
          }
          yield RespText.command(argv);
        }
        case PIPELINE_16, PIPELINE_64 -> {
          byte[][] parts = new byte[commands][];
          for (int i = 0; i < commands; i++) {
            parts[i] = i % 2 == 0 ? RespText.command("GET", text.key())
                : RespText.command("SET", text.key(), text.value());
          }
          yield RespText.concat(parts);
        }
      };
    }
  }

  /** The request decoders compared. */
  public enum Decoder {
    /** {@code walnut.redis.RedisRequestDecoder}: one {@code Request} per command. */
    WALNUT(pool -> new ChannelHandler[] {new RedisProtocol().newRequestDecoder(pool)}),
    /** Netty's codec-redis: an {@code ArrayRedisMessage} of full bulk strings per command. */
    NETTY(pool -> new ChannelHandler[] {
        new RedisDecoder(), new RedisBulkStringAggregator(), new RedisArrayAggregator()});

    private final Function<PoolConfig, ChannelHandler[]> factory;

    Decoder(Function<PoolConfig, ChannelHandler[]> factory) {
      this.factory = factory;
    }

    ChannelHandler[] create(PoolConfig pool) {
      return factory.apply(pool);
    }
  }

  /** The input buffers; per thread because the cursor is mutable. */
  @State(Scope.Thread)
  public static class Inputs {
    @Param
    Input input;

    final ByteBuf[] buffers = new ByteBuf[INPUT_COUNT];
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      RespText text = new RespText(42); // fixed: the same keys in every run
      for (int i = 0; i < INPUT_COUNT; i++) {
        buffers[i] = RespText.direct(input.build(text));
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      for (int i = 0; i < INPUT_COUNT; i++) {
        if (buffers[i] != null) {
          buffers[i].release();
          buffers[i] = null;
        }
      }
    }

    ByteBuf next() {
      return buffers[next++ & MASK];
    }
  }

  /** A decoder pipeline ending in a sink that releases. */
  @State(Scope.Thread)
  public static class DecodeState {
    @Param
    Decoder decoder;

    DecoderPipeline pipeline;

    @Setup(Level.Trial)
    public void setUp(Inputs inputs) {
      pipeline = new DecoderPipeline(new Sink(), decoder.create(Pools.redis(3)));
      for (ByteBuf b : inputs.buffers) {
        pipeline.check(b, inputs.input.commands, decoder + " " + inputs.input);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      pipeline.close();
    }
  }

  /** Walnut's decoder ending in a sink that routes, as the engine's client session does. */
  @State(Scope.Thread)
  public static class RouteState {
    DecoderPipeline pipeline;

    @Setup(Level.Trial)
    public void setUp(Inputs inputs) {
      PoolConfig pool = Pools.redis(3);
      pipeline = new DecoderPipeline(new RoutingSink(Pools.router(pool)),
          new RedisProtocol().newRequestDecoder(pool));
      for (ByteBuf b : inputs.buffers) {
        pipeline.check(b, inputs.input.commands, "route " + inputs.input);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      pipeline.close();
    }
  }

  @Benchmark
  public int decode(Inputs inputs, DecodeState state, Blackhole blackhole) {
    return state.pipeline.feed(inputs.next(), blackhole);
  }

  @Benchmark
  public int decodeAndRoute(Inputs inputs, RouteState state, Blackhole blackhole) {
    return state.pipeline.feed(inputs.next(), blackhole);
  }
}
