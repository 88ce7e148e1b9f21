package walnut.redis;

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
 * A {@link RedisRequestDecoder} in an {@link EmbeddedChannel} on a {@link TrackingAllocator}.
 * {@link #send} feeds bytes, reads every request out, records what it needs and releases the
 * frames, so tests compare plain values.
 */
final class RequestHarness {

  /** What a test checks of one request; the frame is already released. */
  record Decoded(Request.Kind kind, String frame, String key, boolean closeAfter,
      Splitter splitter, int dialect) {

    @Override
    public String toString() {
      return kind + (closeAfter ? "+close" : "") + (key == null ? "" : " key=" + key) + " "
          + frame.replace("\r\n", "\\r\\n");
    }
  }

  final TrackingAllocator alloc = new TrackingAllocator();
  final EmbeddedChannel ch;
  private final Random random;

  RequestHarness(String password, long seed) {
    this(seed, new RedisRequestDecoder(password));
  }

  RequestHarness(long seed, RedisRequestDecoder decoder) {
    ch = new EmbeddedChannel(decoder);
    ch.config().setAllocator(alloc);
    random = new Random(seed);
  }

  List<Decoded> send(String text, Chunking chunking) {
    return send(text.getBytes(StandardCharsets.ISO_8859_1), chunking);
  }

  List<Decoded> send(byte[] bytes, Chunking chunking) {
    chunking.write(ch, alloc, bytes, random);
    List<Decoded> out = new ArrayList<>();
    for (Request r; (r = ch.readInbound()) != null; ) {
      try {
        out.add(new Decoded(r.kind(), text(r), r.hasKey()
            ? r.frame().toString(r.keyIndex(), r.keyLength(), StandardCharsets.ISO_8859_1) : null,
            r.closeAfterReply(), r.splitter(), r.dialect()));
      } finally {
        r.frame().release();
      }
    }
    return out;
  }

  static String text(Request r) {
    return r.frame().toString(StandardCharsets.ISO_8859_1);
  }

  /** A RESP array of bulk strings. */
  static String resp(String... argv) {
    StringBuilder b = new StringBuilder().append('*').append(argv.length).append("\r\n");
    for (String a : argv) {
      b.append('$').append(a.getBytes(StandardCharsets.ISO_8859_1).length).append("\r\n")
          .append(a).append("\r\n");
    }
    return b.toString();
  }
}
