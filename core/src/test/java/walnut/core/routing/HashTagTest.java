package walnut.core.routing;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class HashTagTest {

  static Stream<Arguments> vectors() throws IOException {
    Path root = Path.of(System.getProperty("walnut.root", ".."));
    Path file = root.resolve("../shared/vectors/hashtag.tsv");
    if (!Files.exists(file)) {
      file = Path.of("../../shared/vectors/hashtag.tsv");
    }
    List<String> lines = Files.readAllLines(file);
    return lines.stream().skip(1).map(line -> {
      String[] f = line.split("\t", -1);
      return Arguments.of(f[0], f[1], f[2]);
    });
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("vectors")
  void extractsTheBytesTwemproxyHashes(String tag, String keyHex, String hashedHex) {
    byte[] t = tag.getBytes(ISO_8859_1);
    // Put the key in the middle of a larger buffer: offsets must be absolute.
    byte[] key = ByteBufUtil.decodeHexDump(keyHex);
    ByteBuf buf = Unpooled.buffer().writeBytes(new byte[] {1, 2, 3}).writeBytes(key).writeByte(9);
    long span = HashTag.span(buf, 3, key.length, t[0], t[1]);
    assertEquals(hashedHex,
        ByteBufUtil.hexDump(buf, HashTag.start(span), HashTag.length(span)));
  }

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
