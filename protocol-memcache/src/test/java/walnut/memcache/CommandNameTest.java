package walnut.memcache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import walnut.core.spi.Request;

/**
 * {@link MemcacheProtocol#commandName} on the frames the decoder forwards: a request the decoder
 * routes as {@code get} (or {@code set}) must be named so in --command-metrics and the slow log,
 * whatever spacing the client used.
 */
class CommandNameTest {

  private final MemcacheProtocol protocol = new MemcacheProtocol();

  private List<String> names(String wire) {
    EmbeddedChannel ch = new EmbeddedChannel(new MemcacheRequestDecoder(1 << 20));
    ch.writeInbound(Unpooled.copiedBuffer(wire, StandardCharsets.ISO_8859_1));
    List<String> out = new ArrayList<>();
    for (Request r; (r = ch.readInbound()) != null; ) {
      try {
        if (r.kind() != Request.Kind.LOCAL) {
          out.add(r.kind() + " " + protocol.commandName(r.frame()));
        }
      } finally {
        r.release();
      }
    }
    ch.finishAndReleaseAll();
    return out;
  }

  @Test
  void plainSpacingIsNamed() {
    assertEquals(List.of("ROUTED get", "SPLIT get", "ROUTED set"),
        names("get foo\r\nget a b\r\nset k 0 0 1\r\nv\r\n"));
  }

  @Test
  void leadingSpacesTheDecoderAcceptsAreNamedToo() {
    // The decoder routes these as get/set (memcached's tokenizer skips the spaces too); the
    // observer hears "other" for them.
    assertEquals(List.of("ROUTED get", "SPLIT get", "ROUTED set"),
        names("  get foo\r\n get a b\r\n   set k 0 0 1\r\nv\r\n"));
  }
}
