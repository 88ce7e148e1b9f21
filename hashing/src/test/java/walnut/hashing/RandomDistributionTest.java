package walnut.hashing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import walnut.core.config.Endpoint;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Continuum;

/**
 * The random distribution (docs/compatibility.md#random): uniform over live servers, weights and
 * hash ignored.
 */
class RandomDistributionTest {

  private final RandomDistribution random = new RandomDistribution();

  @Test
  void picksServersUniformlyWhateverTheirWeights() {
    Continuum picker = random.build(List.of(server(31001, 1), server(31002, 1000)),
        new Fnv1a64Hash());
    int[] counts = new int[2];
    for (int i = 0; i < 20_000; i++) {
      counts[picker.serverFor(42)]++;
    }
    // Binomial(20000, 1/2) has a standard deviation of about 71: 40%..60% is 28 of them.
    assertTrue(counts[0] > 8_000 && counts[1] > 8_000, () -> counts[0] + " / " + counts[1]);
  }

  @Test
  void alwaysPicksTheOnlyServer() {
    Continuum picker = random.build(List.of(server(31001, 3)), new Fnv1a64Hash());
    for (int i = 0; i < 100; i++) {
      assertEquals(0, picker.serverFor(i));
    }
  }

  @Test
  void refusesAnEmptyServerList() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> random.build(List.of(), new Fnv1a64Hash()));
    assertTrue(e.getMessage().contains("no live servers"), e.getMessage());
  }

  private static ServerConfig server(int port, int weight) {
    return ServerConfig.of(Endpoint.tcp("127.0.0.1", port), weight);
  }
}
