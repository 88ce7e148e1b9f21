package walnut.memcache;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;
import walnut.testing.Chunking;
import walnut.testing.TrackingAllocator;

/**
 * A {@link MemcacheRequestDecoder} in an {@link EmbeddedChannel} on a {@link TrackingAllocator}.
 * {@link #send} feeds bytes, reads every request out, records what it needs and releases it, so
 * tests compare plain values.
 */
final class RequestHarness {

  /** What a test checks of one request; its buffers are already released. */
  record Decoded(Request.Kind kind, String frame, String key, boolean expectsReply,
      boolean closeAfter, boolean protocolError, Request.ReplyFilter filter, Splitter splitter,
      boolean keyOutsideFrame) {

    /** A short form for assertions: {@code ROUTED key=k set k 0 0 1\r\nv\r\n}. */
    @Override
    public String toString() {
      return kind + (expectsReply ? "" : "+noreply") + (closeAfter ? "+close" : "")
          + (protocolError ? "+error" : "") + (filter == null ? "" : "+" + filter)
          + (key == null ? "" : " key=" + key) + " " + frame.replace("\r\n", "\\r\\n");
    }
  }

  final TrackingAllocator alloc;
  final EmbeddedChannel ch;
  private final Random random;

  RequestHarness(long seed) {
    this(seed, new MemcacheRequestDecoder(1 << 20));
  }

  RequestHarness(long seed, MemcacheRequestDecoder decoder) {
    this(seed, decoder, new TrackingAllocator());
  }

  RequestHarness(long seed, MemcacheRequestDecoder decoder, TrackingAllocator alloc) {
    this.alloc = alloc;
    ch = new EmbeddedChannel(decoder);
    ch.config().setAllocator(alloc);
    random = new Random(seed);
  }

  List<Decoded> send(String text, Chunking chunking) {
    return send(text.getBytes(StandardCharsets.ISO_8859_1), chunking);
  }

  List<Decoded> send(byte[] bytes, Chunking chunking) {
    chunking.write(ch, alloc, bytes, random);
    return drain();
  }

  /** Reads out and releases every request decoded so far. */
  List<Decoded> drain() {
    List<Decoded> out = new ArrayList<>();
    for (Request r; (r = ch.readInbound()) != null; ) {
      try {
        out.add(describe(r));
      } finally {
        r.release();
      }
    }
    return out;
  }

  /** Checks the channel holds nothing more and every buffer was released. */
  void finish() {
    if (ch.finish()) {
      throw new AssertionError("requests left in the channel: " + drain());
    }
    alloc.assertAllReleased();
  }

  static Decoded describe(Request r) {
    ByteBuf keyBuf = r.routingKey() != null ? r.routingKey() : r.frame();
    String key = r.hasKey()
        ? keyBuf.toString(r.keyIndex(), r.keyLength(), StandardCharsets.ISO_8859_1) : null;
    return new Decoded(r.kind(), r.frame().toString(StandardCharsets.ISO_8859_1), key,
        r.expectsReply(), r.closeAfterReply(), r.isProtocolError(), r.replyFilter(),
        r.splitter(), r.routingKey() != null);
  }
}
