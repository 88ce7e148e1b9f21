package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import walnut.core.spi.AbstractSplit;

/**
 * A pool-wide request answered without sending anything ({@link #refusal}): an invalid SCAN
 * cursor, an EVAL whose keys are on different servers, an unsupported SCRIPT subcommand, INFO
 * sections that need no server. Holds no buffer.
 */
final class Refused extends AbstractSplit {

  private final byte[] reply;

  /** Answers {@code reply}, a whole reply in the client's protocol. */
  Refused(byte[] reply) {
    super(new int[0], new ByteBuf[0]);
    this.reply = reply;
  }

  /** Answers {@code -<error>}. */
  static Refused error(String error) {
    return new Refused(("-" + error.replace('\r', ' ').replace('\n', ' ') + "\r\n")
        .getBytes(StandardCharsets.ISO_8859_1));
  }

  @Override
  public ByteBuf refusal(ByteBufAllocator alloc) {
    return alloc.buffer(reply.length).writeBytes(reply);
  }

  @Override
  public ByteBuf merge(ByteBuf[] replies, ByteBufAllocator alloc) {
    throw new IllegalStateException("nothing was sent");
  }
}
