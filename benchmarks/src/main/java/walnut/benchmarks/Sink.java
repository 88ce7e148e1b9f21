package walnut.benchmarks;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import org.openjdk.jmh.infra.Blackhole;
import walnut.core.spi.Request;

/**
 * The last handler of a decoder benchmark's pipeline: hands every decoded message to the
 * {@link Blackhole} and releases it, as the engine would once it is done with it, so the pooled
 * memory is reused and the next invocation measures the same work.
 *
 * <p>Ownership: receives each decoded message and releases it; passes nothing on. Confined to the
 * benchmark thread, which is the embedded channel's loop.
 */
class Sink extends ChannelInboundHandlerAdapter {

  Blackhole blackhole;
  /** Messages seen since the last {@link #take()}; a benchmark checks its input decoded whole. */
  int messages;

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    messages++;
    blackhole.consume(msg);
    if (msg instanceof Request request) {
      consume(ctx, request);
    } else {
      ReferenceCountUtil.release(msg);
    }
  }

  /**
   * Does what the benchmark measures after decoding; by default only releases the request and
   * recycles the request object, as the engine's client session does.
   */
  void consume(ChannelHandlerContext ctx, Request request) {
    request.release();
    request.recycle();
  }

  int take() {
    int n = messages;
    messages = 0;
    return n;
  }
}
