package walnut.hashing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import walnut.core.config.Endpoint;
import walnut.core.config.ServerConfig;

/** The ketama ring against {@code ketama-continuum-*.tsv} and {@code ketama-point-counts.tsv}. */
class KetamaDistributionTest {

  private final KetamaDistribution ketama = new KetamaDistribution();

  static Stream<Arguments> continuumFiles() {
    return Vectors.files(".", "ketama-continuum-*.tsv").stream().map(file -> {
      String variant = file.getFileName().toString()
          .replaceFirst("^ketama-continuum-", "").replaceFirst("\\.tsv$", "");
      return Arguments.of(variant, file);
    });
  }

  static Stream<Arguments> pointCounts() {
    return Vectors.rows("ketama-point-counts.tsv").stream()
        .map(row -> Arguments.of(row[0], row[1], Integer.parseInt(row[2]),
            Integer.parseInt(row[3]), Integer.parseInt(row[4]), Integer.parseInt(row[5])));
  }

  /** The variant's servers, from any placement file of it (they all list the same servers). */
  static PoolFile variant(String variant) {
    List<Path> ymls = Vectors.files("placement", "*-ketama-" + variant + ".yml");
    assertFalse(ymls.isEmpty(), "no placement/*-ketama-" + variant + ".yml");
    return PoolFile.read(ymls.get(0));
  }

  private KetamaContinuum ring(PoolFile pool) {
    return (KetamaContinuum) ketama.build(pool.sorted(), new Md5Hash());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("continuumFiles")
  void buildsTheVariantsWholeSortedRing(String variant, Path file) {
    PoolFile pool = variant(variant);
    KetamaContinuum ring = ring(pool);
    List<String[]> rows = Vectors.rows(file);
    assertEquals(rows.size(), ring.size(), "points on the ring");
    int[] digest = new int[4];
    for (String[] row : rows) {
      int rank = Integer.parseInt(row[0]);
      int serverIndex = Integer.parseInt(row[2]);
      String where = variant + " rank " + rank + " (" + row[3] + ")";
      assertEquals(row[1], Integer.toUnsignedString(ring.valueAt(rank)), where);
      assertEquals(serverIndex, pool.fileIndexOf()[ring.serverAt(rank)], where);

      // The row's own provenance: the point string names the server, and its digest word is
      // the value.
      assertTrue(row[3].startsWith(pool.written().get(serverIndex).name() + "-"), where);
      byte[] point = row[3].getBytes(StandardCharsets.UTF_8);
      Md5.digest(Unpooled.wrappedBuffer(point), 0, point.length, digest);
      assertEquals(row[1], Integer.toUnsignedString(digest[Integer.parseInt(row[4])]), where);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("continuumFiles")
  void routesEachPointsValueToItsOwnerAndWrapsPastTheLastPoint(String variant, Path file) {
    KetamaContinuum ring = ring(variant(variant));
    int last = ring.size() - 1;
    assertEquals(ring.serverAt(0), ring.serverFor(0), "hash 0: first point");
    for (int rank = 0; rank <= last; rank++) {
      int value = ring.valueAt(rank);
      int firstOfEqual = rank;
      while (firstOfEqual > 0 && ring.valueAt(firstOfEqual - 1) == value) {
        firstOfEqual--;
      }
      assertEquals(ring.serverAt(firstOfEqual), ring.serverFor(value), "on point " + rank);
      if (value != -1 && (rank == last || ring.valueAt(rank + 1) != value + 1)) {
        int next = rank == last ? 0 : rank + 1;
        assertEquals(ring.serverAt(next), ring.serverFor(value + 1), "just after point " + rank);
      }
    }
    if (ring.valueAt(last) != -1) {
      assertEquals(ring.serverAt(0), ring.serverFor(-1), "hash 0xffffffff wraps");
    }
  }

  @ParameterizedTest(name = "case {0}: weights {1}, position {2}")
  @MethodSource("pointCounts")
  void givesEachServerTwemproxysFloatPointCount(String caseId, String weights, int position,
      int weight, int points, int pointsIfExact) {
    int[] all = Arrays.stream(weights.split(",")).mapToInt(Integer::parseInt).toArray();
    assertEquals(weight, all[position], "weight column");
    long total = Arrays.stream(all).asLongStream().sum();
    assertEquals(points, KetamaDistribution.pointsFor(weight, total, all.length));
  }

  @Test
  void placesAppleAsTheSpecsWorkedExample() {
    PoolFile pool = variant("hostport");
    KetamaContinuum ring = ring(pool);
    int apple = new Fnv1a64Hash().hash("apple".getBytes(StandardCharsets.US_ASCII));
    assertEquals("1488911807", Integer.toUnsignedString(apple));
    assertEquals("1484323494", Integer.toUnsignedString(ring.valueAt(225)));
    assertEquals("1499110818", Integer.toUnsignedString(ring.valueAt(226)));
    assertEquals("127.0.0.1:31002", pool.sorted().get(ring.serverFor(apple)).name());
  }

  @Test
  void floatArithmeticGives228PointsNot232ForWeight406() {
    List<ServerConfig> servers = List.of(server("a", 72), server("b", 362), server("c", 406));
    KetamaContinuum ring = (KetamaContinuum) ketama.build(servers, new Md5Hash());
    assertArrayEquals(new int[] {40, 204, 228}, pointsPerServer(ring, 3));
  }

  @Test
  void twentyFiveEqualServersGet156PointsEach() {
    List<ServerConfig> servers = Stream.iterate(0, i -> i + 1).limit(25)
        .map(i -> ServerConfig.of(Endpoint.tcp("127.0.0.1", 31201 + i), 1)).toList();
    KetamaContinuum ring = (KetamaContinuum) ketama.build(servers, new Md5Hash());
    int[] expected = new int[25];
    Arrays.fill(expected, 156);
    assertArrayEquals(expected, pointsPerServer(ring, 25));
  }

  @Test
  void serverWithZeroPointsNeverGetsAKey() {
    List<ServerConfig> servers = List.of(server("light", 1), server("heavy", 100_000));
    KetamaContinuum ring = (KetamaContinuum) ketama.build(servers, new Md5Hash());
    assertArrayEquals(new int[] {0, 316}, pointsPerServer(ring, 2));
    for (int h : new int[] {0, 1, -1, Integer.MIN_VALUE, Integer.MAX_VALUE, 0x12345678}) {
      assertEquals(1, ring.serverFor(h));
    }
  }

  @Test
  void pointStringIsNameDashIndexCutAt272Bytes() {
    byte[] name = "cache-b".getBytes(StandardCharsets.US_ASCII);
    assertEquals("cache-b-39", new String(KetamaDistribution.pointString(name, 39),
        StandardCharsets.US_ASCII));
    byte[] longName = new byte[270];
    Arrays.fill(longName, (byte) 'n');
    byte[] point = KetamaDistribution.pointString(longName, 12);
    assertEquals(272, point.length);
    assertEquals("-1", new String(point, 270, 2, StandardCharsets.US_ASCII));
  }

  @Test
  void refusesAnEmptyServerList() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> ketama.build(List.of(), new Md5Hash()));
    assertTrue(e.getMessage().contains("no live servers"), e.getMessage());
  }

  @Test
  void looksUpWithoutAllocating() {
    KetamaContinuum ring = ring(variant("twentyfive"));
    int[] state = {0x9e3779b9, 0};
    long bytes = Allocations.bytesAllocated(() -> {
      state[0] = state[0] * 0x01000193 + 0x6b43a9b5;
      state[1] += ring.serverFor(state[0]);
    }, 30_000, 10_000);
    assertTrue(bytes < 1024, () -> "allocated " + bytes + " bytes in 10,000 lookups");
  }

  private static ServerConfig server(String name, int weight) {
    return new ServerConfig(name, Endpoint.tcp("127.0.0.1", 6379), weight);
  }

  private static int[] pointsPerServer(KetamaContinuum ring, int servers) {
    int[] counts = new int[servers];
    for (int rank = 0; rank < ring.size(); rank++) {
      counts[ring.serverAt(rank)]++;
    }
    return counts;
  }
}
