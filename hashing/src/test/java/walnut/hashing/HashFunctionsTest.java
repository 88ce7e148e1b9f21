package walnut.hashing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import walnut.core.spi.HashFunction;

/**
 * The twelve hashes against twemproxy's own values ({@code hashes.tsv},
 * docs/compatibility.md#hash-functions).
 */
class HashFunctionsTest {

  static final List<HashFunction> ALL = List.of(new OneAtATimeHash(), new Md5Hash(),
      new Crc16Hash(), new Crc32Hash(), new Crc32aHash(), new Fnv164Hash(), new Fnv1a64Hash(),
      new Fnv132Hash(), new Fnv1a32Hash(), new HsiehHash(), new MurmurHash(), new JenkinsHash());

  static final Map<String, HashFunction> BY_NAME =
      ALL.stream().collect(Collectors.toUnmodifiableMap(HashFunction::name, Function.identity()));

  private static final List<byte[]> VECTOR_KEYS =
      Vectors.rows("hashes.tsv").stream().map(row -> Vectors.hex(row[0])).toList();

  static Stream<Arguments> vectors() {
    List<String> header = Vectors.header("hashes.tsv");
    List<Arguments> cases = new ArrayList<>();
    for (String[] row : Vectors.rows("hashes.tsv")) {
      for (int column = 2; column < header.size() - 1; column++) {
        cases.add(Arguments.of(header.get(column), row[0], Integer.parseInt(row[1]),
            row[row.length - 1], row[column]));
      }
    }
    return cases.stream();
  }

  static Stream<HashFunction> all() {
    return ALL.stream();
  }

  @Test
  void coversEveryHashOfTheVectors() {
    List<String> header = Vectors.header("hashes.tsv");
    assertEquals(BY_NAME.keySet(), Set.copyOf(header.subList(2, header.size() - 1)));
  }

  @ParameterizedTest(name = "{0} of {3} ({1})")
  @MethodSource("vectors")
  void givesTwemproxysValue(String hash, String keyHex, int keyLength, String note,
      String expected) {
    byte[] key = Vectors.hex(keyHex);
    assertEquals(keyLength, key.length, "key_len column");
    assertEquals(expected, Integer.toUnsignedString(BY_NAME.get(hash).hash(key)));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '=', value = {
      "one_at_a_time = 2297466611", "md5 = 3195025439", "crc16 = 3662830516", "crc32 = 10542",
      "crc32a = 2838417488", "fnv1_64 = 473199127", "fnv1a_64 = 1488911807",
      "fnv1_32 = 67176023", "fnv1a_32 = 280767167", "hsieh = 3738850110",
      "murmur = 4142305122", "jenkins = 1442444624"})
  void hashesAppleAsTheSpecSays(String hash, String expected) {
    byte[] apple = "apple".getBytes(StandardCharsets.US_ASCII);
    assertEquals(expected, Integer.toUnsignedString(BY_NAME.get(hash).hash(apple)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void readsAtAnOffsetOfALargerBufferWithoutMovingIndices(HashFunction hash) {
    for (byte[] key : VECTOR_KEYS) {
      int expected = hash.hash(key);
      ByteBuf heap = embedded(Unpooled.buffer(key.length + 12), key);
      assertHashedInPlace(hash, heap, key, expected);
      ByteBuf direct = embedded(Unpooled.directBuffer(key.length + 12), key);
      try {
        assertHashedInPlace(hash, direct, key, expected);
      } finally {
        direct.release();
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void readsAKeySplitAcrossCompositeComponents(HashFunction hash) {
    for (byte[] key : VECTOR_KEYS) {
      // Split at thirds, so multi-byte reads straddle component boundaries.
      int first = key.length / 3;
      int second = 2 * key.length / 3;
      CompositeByteBuf composite = Unpooled.compositeBuffer();
      composite.addComponents(true, Unpooled.wrappedBuffer(new byte[] {(byte) 0xee}),
          Unpooled.wrappedBuffer(Arrays.copyOfRange(key, 0, first)),
          Unpooled.wrappedBuffer(Arrays.copyOfRange(key, first, second)),
          Unpooled.wrappedBuffer(Arrays.copyOfRange(key, second, key.length)),
          Unpooled.wrappedBuffer(new byte[] {(byte) 0xff}));
      try {
        assertEquals(hash.hash(key), hash.hash(composite, 1, key.length), () -> hex(key));
      } finally {
        composite.release();
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("all")
  void hashesWithoutAllocating(HashFunction hash) {
    ByteBuf buf = Unpooled.buffer(64);
    for (int i = 0; i < 64; i++) {
      buf.writeByte(i * 37 + 0x81);
    }
    int[] sink = new int[1];
    // Lengths 1..61 at offset 3 cover every tail case and several MD5/jenkins blocks.
    int[] length = {0};
    long bytes = Allocations.bytesAllocated(() -> {
      length[0] = length[0] % 61 + 1;
      sink[0] += hash.hash(buf, 3, length[0]);
    }, 30_000, 10_000);
    assertTrue(bytes < 1024, () -> hash.name() + " allocated " + bytes + " bytes in 10,000 calls");
  }

  /** {@code key} at index 7 of a buffer with other bytes around it and indices set elsewhere. */
  private static ByteBuf embedded(ByteBuf buf, byte[] key) {
    buf.writeBytes(new byte[] {(byte) 0x80, (byte) 0xff, 1, 2, 3, (byte) 0xc3, (byte) 0xa9});
    buf.writeBytes(key);
    buf.writeBytes(new byte[] {(byte) 0xff, (byte) 0xfe, 0, (byte) 0x80, 0x7f});
    buf.setIndex(2, buf.writerIndex() - 1);
    return buf;
  }

  private static void assertHashedInPlace(HashFunction hash, ByteBuf buf, byte[] key,
      int expected) {
    int reader = buf.readerIndex();
    int writer = buf.writerIndex();
    int refCnt = buf.refCnt();
    assertEquals(expected, hash.hash(buf, 7, key.length), () -> hex(key));
    assertEquals(reader, buf.readerIndex(), "readerIndex");
    assertEquals(writer, buf.writerIndex(), "writerIndex");
    assertEquals(refCnt, buf.refCnt(), "refCnt");
  }

  private static String hex(byte[] key) {
    return ByteBufUtil.hexDump(key);
  }
}
