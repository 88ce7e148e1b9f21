package walnut.hashing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import walnut.core.spi.Continuum;
import walnut.core.spi.Distribution;
import walnut.core.spi.HashFunction;

/**
 * End to end for this module: every key of every {@code placement/*.tsv}, taken from the real
 * nutcracker 0.5.0 binary, lands on the same server (docs/compatibility.md#golden-vectors).
 */
class PlacementVectorsTest {

  private static final Map<String, Distribution> DISTRIBUTIONS = Map.of(
      "ketama", new KetamaDistribution(), "modula", new ModulaDistribution());

  static Stream<Arguments> placements() {
    return Vectors.files("placement", "*.tsv").stream().map(tsv -> {
      String name = tsv.getFileName().toString().replaceFirst("\\.tsv$", "");
      return Arguments.of(name, tsv);
    });
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("placements")
  void placesEveryKeyOnTwemproxysServer(String name, Path tsv) {
    PoolFile pool = PoolFile.read(tsv.resolveSibling(name + ".yml"));
    HashFunction hash = HashFunctionsTest.BY_NAME.get(pool.hash());
    Distribution distribution = DISTRIBUTIONS.get(pool.distribution());
    assertNotNull(hash, pool.hash());
    assertNotNull(distribution, pool.distribution());
    Continuum continuum = distribution.build(pool.sorted(), hash);

    List<String[]> rows = Vectors.rows(tsv);
    List<String> wrong = new ArrayList<>();
    for (String[] row : rows) {
      byte[] hashed = HashTags.hashed(Vectors.hex(row[0]), pool.hashTag());
      // docs/compatibility.md#special-cases: an empty key hashes to 0 without calling the hash; one
      // server skips hashing.
      int h = hashed.length == 0 ? 0 : hash.hash(hashed);
      int position = pool.sorted().size() == 1 ? 0 : continuum.serverFor(h);
      int server = pool.fileIndexOf()[position];
      if (server != Integer.parseInt(row[1])) {
        wrong.add(row[0] + " -> " + server + " (expected " + row[1] + ")");
      }
    }
    assertTrue(rows.size() >= 2_300, "rows: " + rows.size());
    assertTrue(wrong.isEmpty(), () -> wrong.size() + " of " + rows.size() + " keys misplaced, "
        + "first: " + wrong.subList(0, Math.min(5, wrong.size())));
  }

  @Test
  void hashTagReplayMatchesTheHashtagVectors() {
    for (String[] row : Vectors.rows("hashtag.tsv")) {
      assertArrayEquals(Vectors.hex(row[2]), HashTags.hashed(Vectors.hex(row[1]), row[0]),
          () -> row[0] + " " + row[1]);
    }
  }

  @Test
  void coversAllNinetySixConfigurations() {
    assertEquals(96, placements().count());
  }
}
