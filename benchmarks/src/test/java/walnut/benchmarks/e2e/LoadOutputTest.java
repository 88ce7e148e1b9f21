package walnut.benchmarks.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The parsers on what redis-benchmark 7.0.15 and mcload really printed (resources). */
class LoadOutputTest {

  private static String captured(String name) throws IOException {
    try (InputStream in = LoadOutputTest.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException("no resource " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void redisBenchmarkSummaryAndTheFirstStepAtOrAbove999() throws Exception {
    LoadOutput.Figures f = LoadOutput.redisBenchmark(captured("redis-benchmark-get-p1.txt"));
    assertEquals(101010.10, f.rps());
    assertEquals(0.207, f.p50());
    assertEquals(3.599, f.p99());
    // "99.902% <= 6.767 milliseconds": the step after 99.805 %, the first at or above 99.9 %.
    assertEquals(6.767, f.p999());
  }

  @Test
  void redisBenchmarkProgressRedrawsDoNotHideTheFigures() throws Exception {
    // A custom command (MGET, pipelined): the progress line and its \r redraws come first.
    String output = captured("redis-benchmark-mget-p16.txt");
    assertTrue(output.contains("\r"), "the capture keeps redis-benchmark's carriage returns");
    LoadOutput.Figures f = LoadOutput.redisBenchmark(output);
    assertEquals(588235.25, f.rps());
    assertEquals(0.663, f.p50());
    assertEquals(6.095, f.p99());
    assertEquals(6.239, f.p999());
  }

  @Test
  void redisBenchmarkWithPrecision() throws Exception {
    LoadOutput.Figures f =
        LoadOutput.redisBenchmark(captured("redis-benchmark-set-p16-precision3.txt"));
    assertEquals(1176470.50, f.rps());
    assertEquals(0.535, f.p50());
    assertEquals(1.767, f.p99());
    assertEquals(1.895, f.p999());
  }

  @Test
  void redisBenchmarkWithoutASummaryIsAFailedRunThatSaysWhy() throws Exception {
    // What it prints on a refused connection, before spinning forever (Load's time limit ends it).
    LoadOutput.Unreadable e = assertThrows(LoadOutput.Unreadable.class,
        () -> LoadOutput.redisBenchmark(captured("redis-benchmark-refused.txt")));
    assertEquals("redis-benchmark printed no summary: Could not connect to Redis at"
        + " 127.0.0.1:1: Connection refused", e.getMessage());
  }

  @Test
  void mcloadSummaryWithExactPercentiles() throws Exception {
    LoadOutput.Figures get = LoadOutput.mcload(captured("mcload-get-p16.txt"));
    assertEquals(373577.95, get.rps());
    assertEquals(2.112, get.p50());
    assertEquals(3.761, get.p99());
    assertEquals(4.385, get.p999());
    LoadOutput.Figures set = LoadOutput.mcload(captured("mcload-set-p1.txt"));
    assertEquals(139277.45, set.rps());
    assertEquals(4.894, set.p999());
  }

  @Test
  void mcloadErrorRepliesFailTheRunWithTheFirstOne() throws Exception {
    LoadOutput.Unreadable e = assertThrows(LoadOutput.Unreadable.class,
        () -> LoadOutput.mcload(captured("mcload-too-large.txt")));
    assertEquals("mcload: 100 of 100 replies were errors, the first: SERVER_ERROR object too"
        + " large for cache", e.getMessage());
  }

  @Test
  void mcloadWithoutASummaryIsAFailedRunThatSaysWhy() throws Exception {
    LoadOutput.Unreadable e = assertThrows(LoadOutput.Unreadable.class,
        () -> LoadOutput.mcload(captured("mcload-refused.txt")));
    assertEquals("mcload printed no summary: mcload: connect to 127.0.0.1:1: Connection refused",
        e.getMessage());
    e = assertThrows(LoadOutput.Unreadable.class,
        () -> LoadOutput.mcload("requests: 10\nops/s: 5.0\nerrors: 0\n"));
    assertEquals("mcload's summary has no number for 'p50 ms': (missing)", e.getMessage());
  }
}
