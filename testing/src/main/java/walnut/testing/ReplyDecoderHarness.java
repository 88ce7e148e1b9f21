package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import walnut.core.spi.ReplyPart;
import walnut.core.spi.ServerPush;
import walnut.core.spi.ServerTrouble;

/**
 * For reply decoder tests: the decoder in an {@link EmbeddedChannel} on a
 * {@link TrackingAllocator}, fed as a {@link Chunking} splits the input, and what it emits read
 * back as strings (ISO-8859-1, byte for byte), every buffer released. A reply streamed in
 * {@link ReplyPart}s comes back as one string once its last part arrived; {@link #parts()} counts
 * the parts seen. Single-threaded, one per test instance.
 */
public final class ReplyDecoderHarness {

  public final TrackingAllocator alloc = new TrackingAllocator();
  public final EmbeddedChannel ch;
  private int pushes;
  private final Random random = new Random(Chunking.seed());
  private final StringBuilder streaming = new StringBuilder();
  private int parts;
  private int troubles;
  private int troublesCounted;

  public ReplyDecoderHarness(ChannelHandler decoder) {
    ch = new EmbeddedChannel(decoder);
    ch.config().setAllocator(alloc);
  }

  /** Feeds {@code in}; returns every reply emitted, and the failure if one was raised. */
  public List<String> feed(byte[] in, Chunking chunking, Throwable[] failure) {
    try {
      chunking.write(ch, alloc, in, random);
    } catch (DecoderException e) {
      failure[0] = e;
    }
    List<String> out = new ArrayList<>();
    drainInto(out);
    return out;
  }

  /** Feeds {@code in}, which must decode without failure; returns every reply emitted. */
  public List<String> feed(String in, Chunking chunking) {
    Throwable[] failure = new Throwable[1];
    List<String> out = feed(in.getBytes(StandardCharsets.ISO_8859_1), chunking, failure);
    if (failure[0] != null) {
      throw new AssertionError(failure[0]);
    }
    return out;
  }

  /**
   * Adds what the decoder has emitted so far to {@code out}, releasing it; a streamed reply is
   * added once whole. No emitted buffer may be empty.
   */
  public void drainInto(List<String> out) {
    for (Object m; (m = ch.readInbound()) != null; ) {
      if (m instanceof ReplyPart part) {
        parts++;
        assertTrue(part.content().isReadable(), "an empty reply part");
        streaming.append(part.content().toString(StandardCharsets.ISO_8859_1));
        boolean last = part.last();
        part.release();
        if (last) {
          out.add(streaming.toString());
          streaming.setLength(0);
        }
        continue;
      }
      if (m instanceof ServerTrouble trouble) {
        troubles++;
        if (trouble.counts()) {
          troublesCounted++;
        }
        out.add(trouble.content().toString(StandardCharsets.ISO_8859_1));
        trouble.release();
        continue;
      }
      if (m instanceof ServerPush push) {
        pushes++;
        out.add(push.content().toString(StandardCharsets.ISO_8859_1));
        push.release();
        continue;
      }
      ByteBuf b = (ByteBuf) m;
      assertTrue(b.isReadable(), "an empty reply");
      out.add(b.toString(StandardCharsets.ISO_8859_1));
      b.release();
    }
  }

  /** Messages that came as {@link ServerPush} so far. */
  public int pushes() {
    return pushes;
  }

  /** Replies that came as {@link ServerTrouble} so far. */
  public int troubles() {
    return troubles;
  }

  /** Replies that came as {@link ServerTrouble} counting against the server, so far. */
  public int troublesCounted() {
    return troublesCounted;
  }

  /** Reply parts seen so far. */
  public int parts() {
    return parts;
  }

  /** Nothing left in the channel, and every buffer the decoder allocated released. */
  public void finish() {
    assertFalse(ch.finish());
    alloc.assertAllReleased();
  }
}
