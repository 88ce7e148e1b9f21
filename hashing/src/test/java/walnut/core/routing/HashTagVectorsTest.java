package walnut.core.routing;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.file.Files;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import walnut.testing.GoldenVectors;

/**
 * {@link HashTag} against the golden {@code vectors/hashtag.tsv}. It lives in the hashing module's
 * tests, not beside core's {@code HashTagTest}, because the vectors are found through
 * {@code walnut-testing}, which depends on core.
 */
class HashTagVectorsTest {

  static Stream<Arguments> vectors() throws IOException {
    return Files.readAllLines(GoldenVectors.file("hashtag.tsv")).stream().skip(1).map(line -> {
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
}
