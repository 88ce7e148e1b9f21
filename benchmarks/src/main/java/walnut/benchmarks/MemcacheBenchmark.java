package walnut.benchmarks;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;
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
import walnut.memcache.MemcacheProtocol;

/**
 * Decoding memcached ASCII: client requests with Walnut's {@code MemcacheRequestDecoder} (alone,
 * and followed by routing), and server replies with its {@code MemcacheReplyDecoder}.
 *
 * <p>Implementation note. The same harness as the RESP suites ({@link RespRequestBenchmark},
 * {@link RespReplyBenchmark}): one operation decodes one input buffer as a socket read delivers
 * it, in an embedded pipeline fed directly on an event-loop thread, every message released. Keys
 * are redis-benchmark-style {@code key:…} names, values 32 bytes. Requests: {@code get}, {@code
 * set} with its data block, a multi-key {@code get} of 10 keys (split per server by
 * {@code decodeAndRoute}), and pipelined batches of 16 and 64 commands alternating get and set.
 * Replies: {@code STORED}, one {@code VALUE} block through {@code END}, a 10-key retrieval's
 * reply, and the 16 replies of a pipelined batch of gets. Netty has no memcached ASCII codec (its
 * codec-memcache speaks the binary protocol only), so there is no reference here; the RESP suites
 * give the comparison with Netty's own decoders.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {Forks.NO_LEAK_DETECTION, Forks.EVENT_LOOP_THREADS,
    Forks.EVENT_LOOP_THREADS_CLASS})
public class MemcacheBenchmark {

  static final int INPUT_COUNT = 64;
  static final int MASK = INPUT_COUNT - 1;

  /** What one request buffer holds. */
  public enum Request {
    GET(1), SET(1), GET_10(1), PIPELINE_16(16), PIPELINE_64(64);

    final int commands;

    Request(int commands) {
      this.commands = commands;
    }

    String build(RespText text) {
      return switch (this) {
        case GET -> get(text, 1);
        case SET -> set(text);
        case GET_10 -> get(text, 10);
        case PIPELINE_16, PIPELINE_64 -> {
          StringBuilder b = new StringBuilder();
          for (int i = 0; i < commands; i++) {
            b.append(i % 2 == 0 ? get(text, 1) : set(text));
          }
          yield b.toString();
        }
      };
    }

    private static String get(RespText text, int keys) {
      StringBuilder b = new StringBuilder("get");
      for (int i = 0; i < keys; i++) {
        b.append(' ').append(text.key());
      }
      return b.append("\r\n").toString();
    }

    private static String set(RespText text) {
      return "set " + text.key() + " 0 0 " + RespText.VALUE_SIZE + "\r\n" + text.value() + "\r\n";
    }
  }

  /** What one reply buffer holds. */
  public enum Reply {
    STORED(1), VALUE(1), VALUES_10(1), VALUE_X16(16);

    final int replies;

    Reply(int replies) {
      this.replies = replies;
    }

    String build(RespText text) {
      return switch (this) {
        case STORED -> "STORED\r\n";
        case VALUE -> values(text, 1);
        case VALUES_10 -> values(text, 10);
        case VALUE_X16 -> {
          StringBuilder b = new StringBuilder();
          for (int i = 0; i < replies; i++) {
            b.append(values(text, 1));
          }
          yield b.toString();
        }
      };
    }

    private static String values(RespText text, int n) {
      StringBuilder b = new StringBuilder();
      for (int i = 0; i < n; i++) {
        b.append("VALUE ").append(text.key()).append(" 0 ").append(RespText.VALUE_SIZE)
            .append("\r\n").append(text.value()).append("\r\n");
      }
      return b.append("END\r\n").toString();
    }
  }

  /** Request buffers; per thread because the cursor is mutable. */
  @State(Scope.Thread)
  public static class Requests {
    @Param
    Request request;

    final ByteBuf[] buffers = new ByteBuf[INPUT_COUNT];
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      fill(buffers, i -> request.build(i));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      release(buffers);
    }
  }

  /** Walnut's request decoder ending in a sink that only releases. */
  @State(Scope.Thread)
  public static class DecodeState {
    DecoderPipeline pipeline;

    @Setup(Level.Trial)
    public void setUp(Requests requests) {
      pipeline = new DecoderPipeline(new Sink(),
          new MemcacheProtocol().newRequestDecoder(Pools.memcache(3)));
      for (ByteBuf b : requests.buffers) {
        pipeline.check(b, requests.request.commands, "decode " + requests.request);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      pipeline.close();
    }
  }

  /** Walnut's request decoder ending in a sink that routes. */
  @State(Scope.Thread)
  public static class RouteState {
    DecoderPipeline pipeline;

    @Setup(Level.Trial)
    public void setUp(Requests requests) {
      PoolConfig pool = Pools.memcache(3);
      pipeline = new DecoderPipeline(new RoutingSink(Pools.router(pool)),
          new MemcacheProtocol().newRequestDecoder(pool));
      for (ByteBuf b : requests.buffers) {
        pipeline.check(b, requests.request.commands, "route " + requests.request);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      pipeline.close();
    }
  }

  /** Reply buffers and the reply decoder; per thread. */
  @State(Scope.Thread)
  public static class ReplyState {
    @Param
    Reply reply;

    final ByteBuf[] buffers = new ByteBuf[INPUT_COUNT];
    DecoderPipeline pipeline;
    int next;

    @Setup(Level.Trial)
    public void setUp() {
      fill(buffers, i -> reply.build(i));
      pipeline = new DecoderPipeline(new Sink(),
          new MemcacheProtocol().newReplyDecoder(Pools.memcache(3)));
      for (ByteBuf b : buffers) {
        pipeline.check(b, reply.replies, "reply " + reply);
      }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      pipeline.close();
      release(buffers);
    }
  }

  @Benchmark
  public int decodeRequest(Requests requests, DecodeState state, Blackhole blackhole) {
    return state.pipeline.feed(requests.buffers[requests.next++ & MASK], blackhole);
  }

  @Benchmark
  public int decodeAndRoute(Requests requests, RouteState state, Blackhole blackhole) {
    return state.pipeline.feed(requests.buffers[requests.next++ & MASK], blackhole);
  }

  @Benchmark
  public int decodeReply(ReplyState state, Blackhole blackhole) {
    return state.pipeline.feed(state.buffers[state.next++ & MASK], blackhole);
  }

  private static void fill(ByteBuf[] buffers, Function<RespText, String> text) {
    RespText random = new RespText(42); // fixed: the same keys in every run
    for (int i = 0; i < buffers.length; i++) {
      buffers[i] = RespText.direct(text.apply(random).getBytes(StandardCharsets.ISO_8859_1));
    }
  }

  private static void release(ByteBuf[] buffers) {
    for (int i = 0; i < buffers.length; i++) {
      if (buffers[i] != null) {
        buffers[i].release();
        buffers[i] = null;
      }
    }
  }
}
