package walnut.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.handler.codec.redis.RedisArrayAggregator;
import io.netty.handler.codec.redis.RedisBulkStringAggregator;
import io.netty.handler.codec.redis.RedisDecoder;
import java.nio.charset.StandardCharsets;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import walnut.redis.RedisProtocol;

/**
 * Framing a Redis server's replies: Walnut's {@code RedisReplyDecoder} against Netty's
 * {@code RedisDecoder} + {@code RedisBulkStringAggregator} + {@code RedisArrayAggregator} on the
 * same bytes.
 *
 * <p>Implementation note. One operation decodes one input buffer as a read from a backend
 * connection delivers it: a status reply ({@code +OK}, SET's), a bulk reply (GET's, a 32-byte
 * value), an array of 10 bulk values (MGET's), or the 16 bulk replies of a pipelined batch of GETs.
 * Walnut's decoder only finds where each top-level reply ends and passes it on as a retained slice,
 * byte for byte, because the proxy forwards replies unchanged; Netty's builds a message tree. Both
 * run in an embedded pipeline fed directly ({@link DecoderPipeline}) on an event-loop thread
 * ({@link EventLoopThreads}), and every reply is released. With {@code -prof gc},
 * {@code gc.alloc.rate.norm} is the garbage per input buffer.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {Forks.NO_LEAK_DETECTION, Forks.EVENT_LOOP_THREADS,
    Forks.EVENT_LOOP_THREADS_CLASS})
public class RespReplyBenchmark {

  static final int INPUT_COUNT = 64;
  static final int MASK = INPUT_COUNT - 1;

  /** What one input buffer holds. */
  public enum Input {
    STATUS(1), BULK(1), ARRAY_10(1), BULK_X16(16);

    /** Top-level replies in one buffer. */
    final int replies;

    Input(int replies) {
      this.replies = replies;
    }

    byte[] build(RespText text) {
      return switch (this) {
        case STATUS -> "+OK\r\n".getBytes(StandardCharsets.US_ASCII);
        case BULK -> RespText.bulk(text.value());
        case ARRAY_10 -> text.bulkArray(10);
        case BULK_X16 -> {
          byte[][] parts = new byte[16][];
          for (int i = 0; i < parts.length; i++) {
            parts[i] = RespText.bulk(text.value());
          }
          yield RespText.concat(parts);
        }
      };
    }
  }

  /** The reply decoders compared. */
  public enum Decoder {
    /** {@code walnut.redis.RedisReplyDecoder}: a retained slice per top-level reply. */
    WALNUT(() -> new ChannelHandler[] {
        new RedisProtocol().newReplyDecoder(Pools.redis(3))}),
    /** Netty's codec-redis: a message per reply, aggregated into full bulk strings and arrays. */
    NETTY(() -> new ChannelHandler[] {
        new RedisDecoder(), new RedisBulkStringAggregator(), new RedisArrayAggregator()});

    private final Supplier<ChannelHandler[]> factory;

    Decoder(Supplier<ChannelHandler[]> factory) {
      this.factory = factory;
    }
  }

  /** The input buffers and the decoder; per thread because the cursor and pipeline are. */
  @State(Scope.Thread)
  public static class DecodeState {
    @Param
    Input input;

    @Param
    Decoder decoder;

    final ByteBuf[] buffers = new ByteBuf[INPUT_COUNT];
    DecoderPipeline pipeline;
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      RespText text = new RespText(42); // fixed: the same values in every run
      pipeline = new DecoderPipeline(new Sink(), decoder.factory.get());
      for (int i = 0; i < INPUT_COUNT; i++) {
        buffers[i] = RespText.direct(input.build(text));
        pipeline.check(buffers[i], input.replies, decoder + " " + input);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      pipeline.close();
      for (int i = 0; i < INPUT_COUNT; i++) {
        if (buffers[i] != null) {
          buffers[i].release();
          buffers[i] = null;
        }
      }
    }
  }

  @Benchmark
  public int decode(DecodeState state, Blackhole blackhole) {
    return state.pipeline.feed(state.buffers[state.next++ & MASK], blackhole);
  }
}
