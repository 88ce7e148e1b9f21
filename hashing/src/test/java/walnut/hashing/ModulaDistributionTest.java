package walnut.hashing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import walnut.core.config.Endpoint;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Continuum;

/** The modula slot table (docs/compatibility.md#modula). */
class ModulaDistributionTest {

  private final ModulaDistribution modula = new ModulaDistribution();

  /** The spec's example: 31001 has weight 2; sorted order 31001, 31002, 31003, 31004. */
  private final List<ServerConfig> hostport = List.of(server(31001, 2), server(31002, 1),
      server(31003, 1), server(31004, 1));

  @Test
  void givesEachServerWeightConsecutiveSlotsInListOrder() {
    Continuum table = modula.build(hostport, new Fnv1a64Hash());
    int[] slots = {0, 0, 1, 2, 3};
    for (int h = 0; h < 20; h++) {
      assertEquals(slots[h % 5], table.serverFor(h), "hash " + h);
    }
  }

  @Test
  void placesAppleAsTheSpecsExample() {
    Continuum table = modula.build(hostport, new Fnv1a64Hash());
    int apple = new Fnv1a64Hash().hash("apple".getBytes(StandardCharsets.US_ASCII));
    assertEquals("127.0.0.1:31002", hostport.get(table.serverFor(apple)).name());
  }

  @Test
  void takesTheRemainderUnsigned() {
    Continuum table = modula.build(hostport, new Fnv1a64Hash());
    assertEquals(2, table.serverFor(0x80000000), "2147483648 mod 5 = 3");
    assertEquals(0, table.serverFor(0xffffffff), "4294967295 mod 5 = 0");
    assertEquals(3, table.serverFor(0xfffffffe), "4294967294 mod 5 = 4");
  }

  @Test
  void weightRangesPickTheSameServerAsASlotTable() {
    long seed = Long.getLong("walnut.seed", System.nanoTime());
    System.out.println("ModulaDistributionTest seed: -Dwalnut.seed=" + seed);
    SplittableRandom random = new SplittableRandom(seed);
    for (int round = 0; round < 50; round++) {
      List<ServerConfig> servers = new ArrayList<>();
      for (int s = random.nextInt(1, 12); s > 0; s--) {
        servers.add(server(30000 + s, random.nextInt(1, 300)));
      }
      Continuum table = ModulaDistribution.build(servers, Integer.MAX_VALUE);
      Continuum ranges = ModulaDistribution.build(servers, 0);
      assertInstanceOf(ModulaDistribution.SlotTable.class, table);
      assertInstanceOf(ModulaDistribution.WeightRanges.class, ranges);
      for (int i = 0; i < 2_000; i++) {
        int h = i < 1_000 ? i : random.nextInt();
        assertEquals(table.serverFor(h), ranges.serverFor(h), "seed " + seed + ", hash " + h);
      }
      assertEquals(table.serverFor(-1), ranges.serverFor(-1), "seed " + seed);
    }
  }

  @Test
  void heavyWeightsUseRangesInsteadOfAHugeTable() {
    List<ServerConfig> servers = List.of(server(31001, 1), server(31002, 100_000));
    Continuum continuum = modula.build(servers, new Fnv1a64Hash());
    assertInstanceOf(ModulaDistribution.WeightRanges.class, continuum);
    assertEquals(0, continuum.serverFor(0));
    assertEquals(1, continuum.serverFor(1));
    assertEquals(1, continuum.serverFor(100_000));
    assertEquals(0, continuum.serverFor(100_001));
  }

  @Test
  void refusesATotalWeightTwemproxyCannotCount() {
    List<ServerConfig> servers = List.of(server(1, Integer.MAX_VALUE),
        server(2, Integer.MAX_VALUE), server(3, Integer.MAX_VALUE));
    var e = assertThrows(IllegalArgumentException.class,
        () -> modula.build(servers, new Fnv1a64Hash()));
    assertTrue(e.getMessage().contains("total weight"), e.getMessage());
  }

  @Test
  void refusesAnEmptyServerList() {
    var e = assertThrows(IllegalArgumentException.class,
        () -> modula.build(List.of(), new Fnv1a64Hash()));
    assertTrue(e.getMessage().contains("no live servers"), e.getMessage());
  }

  @Test
  void looksUpWithoutAllocating() {
    Continuum table = modula.build(hostport, new Fnv1a64Hash());
    Continuum ranges = ModulaDistribution.build(hostport, 0);
    int[] state = {0x9e3779b9, 0};
    long bytes = Allocations.bytesAllocated(() -> {
      state[0] = state[0] * 0x01000193 + 0x6b43a9b5;
      state[1] += table.serverFor(state[0]) + ranges.serverFor(state[0]);
    }, 30_000, 10_000);
    assertTrue(bytes < 1024, () -> "allocated " + bytes + " bytes in 10,000 lookups");
  }

  private static ServerConfig server(int port, int weight) {
    return ServerConfig.of(Endpoint.tcp("127.0.0.1", port), weight);
  }
}
