package walnut.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.embedded.EmbeddedChannel;
import org.openjdk.jmh.infra.Blackhole;
import walnut.core.proxy.ProxyServer;

/**
 * Decoders in an {@link EmbeddedChannel}, fed by firing reads straight into the pipeline: no
 * queue of inbound messages, no varargs array, so what a benchmark measures is the handlers and
 * the {@link Sink} at the end.
 *
 * <p>Implementation note: an input buffer is fed whole and decodes whole, so
 * {@code ByteToMessageDecoder} takes it as its cumulation, reads it to the end and releases it.
 * {@link #feed} retains it first and rewinds it, so one precomputed buffer serves every
 * invocation and nothing is copied; the slices a decoder retains are released by the sink.
 */
final class DecoderPipeline implements AutoCloseable {

  private final EmbeddedChannel channel;
  private final ChannelPipeline pipeline;
  private final Sink sink;

  DecoderPipeline(Sink sink, ChannelHandler... decoders) {
    this.sink = sink;
    channel = new EmbeddedChannel(decoders);
    channel.config().setAllocator(ProxyServer.ALLOCATOR); // the proxy's, for its cumulations
    channel.pipeline().addLast(sink);
    pipeline = channel.pipeline();
  }

  /** Decodes all of {@code input} (left as it was); returns how many messages came out. */
  int feed(ByteBuf input, Blackhole blackhole) {
    sink.blackhole = blackhole;
    input.retain().readerIndex(0);
    pipeline.fireChannelRead(input);
    pipeline.fireChannelReadComplete();
    return sink.take();
  }

  /** Decodes {@code input} once and fails unless it gives {@code expected} messages. */
  void check(ByteBuf input, int expected, String what) {
    int got = feed(input, DISCARD);
    if (got != expected) {
      throw new IllegalStateException(what + ": decoded " + got + " messages (expected: "
          + expected + ")");
    }
    if (input.refCnt() != 1) {
      throw new IllegalStateException(what + ": input refCnt " + input.refCnt()
          + " after decoding (expected: 1, every output released)");
    }
  }

  @Override
  public void close() {
    channel.finishAndReleaseAll();
  }

  /** A blackhole for set-up checks, outside any measurement. */
  static final Blackhole DISCARD = new Blackhole("Today's password is swordfish. "
      + "I understand instantiating Blackholes directly is dangerous.");
}
