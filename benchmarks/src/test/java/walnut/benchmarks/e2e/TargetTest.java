package walnut.benchmarks.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TargetTest {

  @Test
  void memcacheCasesGoToTheMemcachePortAndTheOthersToTheRedisPort() {
    Target t = new Target("walnut-t1", null, 7000, 7001, "");
    assertEquals(7001, t.port("mc get P1"));
    assertEquals(7000, t.port("GET P1"));
    assertEquals(7000, t.port("MGET10 P16"));
    assertFalse(t.skips("mc set P16"));
    assertFalse(t.isProxy());
  }

  @Test
  void memcacheCasesAreSkippedWithoutAMemcachePoolOrWithAReason() {
    Target none = new Target("direct", null, 7000, 0, "");
    assertTrue(none.skips("mc get P16"));
    assertFalse(none.skips("GET P1"));
    Target refused = new Target("other", null, 7000, 7001, "");
    refused.memcacheSkip = "it answers nothing";
    assertTrue(refused.skips("mc set P1"));
    assertFalse(refused.skips("SET P16"));
  }

  @Test
  void tlsCasesGoToTheirOwnPortsAndAreSkippedWithoutOne() {
    Target t = new Target("walnut-t1", null, 7000, 7001, "");
    assertTrue(t.skips("GET P1 TLS-client"), "no TLS pools");
    t.tlsPorts.put(TlsCase.CLIENT, 7002);
    t.tlsPorts.put(TlsCase.BOTH, 7004);
    assertEquals(7002, t.port("GET P16 TLS-client"));
    assertEquals(7004, t.port("MGET10 P1 TLS-both"));
    assertEquals(7000, t.port("GET P16"));
    assertFalse(t.skips("GET P16 TLS-client"));
    assertTrue(t.skips("GET P16 TLS-server"));
    t.tlsSkip = "twemproxy 0.5.0 has no TLS";
    assertTrue(t.skips("GET P16 TLS-client"));
    assertFalse(t.skips("GET P16"));
  }

  @Test
  void memoryFiguresNotMeasuredStayMinusOne() {
    Target t = new Target("twemproxy", null, 7000, 0, "");
    assertEquals(new Memory.Row("twemproxy", -1, -1, -1, -1, 0, -1, Double.NaN), t.memory());
    t.idleKib = 2048;
    t.idleClients = 100;
    t.withClientsKib = 4096;
    t.afterLoadKib = 3072;
    t.settleSeconds = 30;
    t.settledKib = 2560;
    t.confTestSeconds = 0.004;
    assertEquals(new Memory.Row("twemproxy", 2048, 100, 4096, 3072, 30, 2560, 0.004),
        t.memory());
  }

  @Test
  void theLastLineOfAFailureIsItsLastNonBlankLine() {
    assertEquals("error: bad pool", Proxies.lastLine("starting\n  error: bad pool  \n\n"));
    assertEquals("", Proxies.lastLine("\n \n"));
  }

  @Test
  void theConfigurationTestTimeIsTheMedianOfItsRuns() {
    assertEquals(0.5, ConfTests.median(new double[] {0.9, 0.5, 0.4, 0.6, 0.45}));
    assertEquals(0.5, ConfTests.median(new double[] {0.6, 0.4}));
  }

  @Test
  void aFigureNotMeasuredIsAnEmptyCsvField() {
    assertEquals("", Rounds.csv("%.2f", Double.NaN));
    assertEquals("1234.50", Rounds.csv("%.2f", 1234.5));
  }
}
