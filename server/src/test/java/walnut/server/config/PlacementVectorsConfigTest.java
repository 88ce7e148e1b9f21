package walnut.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.config.ServerConfig;
import walnut.testing.GoldenVectors;

/**
 * The golden placement files (docs/compatibility.md#golden-vectors), taken from the real binary,
 * all load.
 */
class PlacementVectorsConfigTest {

  static Path placementDir() {
    return GoldenVectors.file("placement");
  }

  static Stream<Path> placementFiles() throws IOException {
    try (Stream<Path> files = Files.list(placementDir())) {
      return files.filter(f -> f.toString().endsWith(".yml")).sorted().toList().stream();
    }
  }

  @Test
  void thereArePlacementFiles() throws IOException {
    assertFalse(placementFiles().toList().isEmpty());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("placementFiles")
  void aPlacementFileLoads(Path file) {
    ProxyConfig config = NutcrackerConfigLoader.load(file);

    assertEquals(1, config.pools().size());
    PoolConfig pool = config.pools().get(0);
    assertFalse(pool.servers().isEmpty());
    String name = file.getFileName().toString();
    assertTrue(name.startsWith(pool.hash() + "-" + pool.distribution() + "-"),
        () -> name + " loaded as " + pool.hash() + "/" + pool.distribution());
  }

  @Test
  void theNamedPlacementFileSortsItsServersAsTwemproxyDoes() {
    ProxyConfig config =
        NutcrackerConfigLoader.load(placementDir().resolve("crc16-ketama-named.yml"));

    assertEquals(List.of("b", "zeta", "alpha", "beta2"),
        config.pools().get(0).servers().stream().map(ServerConfig::name).toList());
  }
}
