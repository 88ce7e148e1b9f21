package walnut.core.routing;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The hash-tag rule on hand-written cases. The golden vectors recorded from twemproxy are checked
 * by {@code HashTagVectorsTest} in the hashing module, which can reach them.
 */
class HashTagTest {

  @ParameterizedTest
  @CsvSource({
      "user:{1000}:name, 1000",
      "{a}{b}, a",
      "a{}b{c}, a{}b{c}",
      "x{abc, x{abc",
      "}{a}, a",
      "{{a}}, {a",
      "a{b}}, b",
  })
  void followsTheSpecExamples(String key, String hashed) {
    ByteBuf buf = Unpooled.copiedBuffer(key, ISO_8859_1);
    long span = HashTag.span(buf, 0, buf.readableBytes(), (byte) '{', (byte) '}');
    assertEquals(hashed, buf.toString(HashTag.start(span), HashTag.length(span), ISO_8859_1));
  }
}
