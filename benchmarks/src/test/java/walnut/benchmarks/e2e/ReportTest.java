package walnut.benchmarks.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportTest {

  @TempDir
  Path dir;

  private Results read(String csv) throws IOException {
    Path raw = dir.resolve("runs.csv");
    Files.writeString(raw, csv);
    return Results.read(raw);
  }

  @Test
  void takesTheMedianOfEveryColumnOverTheRounds() throws IOException {
    Results results = read("""
        round,proxy,case,rps,p50_ms,p99_ms,proxy_us,machine_us
        1,twemproxy,GET P1,100,0.5,0.8,9.0,21.0
        2,twemproxy,GET P1,90,0.4,0.9,9.4,22.0
        3,twemproxy,GET P1,110,0.6,0.7,9.2,20.0
        1,direct,GET P1,200,0.2,0.3,,15.0
        """);
    Results.Cell tw = results.cell("twemproxy", "GET P1");
    assertEquals(100, tw.rps());
    assertEquals(0.8, tw.p99());
    assertEquals(9.2, tw.proxyUs());
    assertEquals(21.0, tw.machineUs());
    assertEquals(3, tw.runs());
    Results.Cell direct = results.cell("direct", "GET P1");
    assertTrue(Double.isNaN(direct.proxyUs()), "direct has no proxy process");
    assertEquals(15.0, direct.machineUs());
  }

  @Test
  void readsRunsRecordedBeforeTheCpuColumns() throws IOException {
    Results results = read("""
        round,proxy,case,rps,p50_ms,p99_ms
        1,twemproxy,mc get,100,,
        """);
    Results.Cell cell = results.cell("twemproxy", "mc get");
    assertEquals(100, cell.rps());
    assertTrue(Double.isNaN(cell.p99()) && Double.isNaN(cell.proxyUs())
        && Double.isNaN(cell.machineUs()));
  }

  @Test
  void refusesALineWithAnotherNumberOfFields() {
    IOException e = assertThrows(IOException.class, () -> read("""
        round,proxy,case,rps,p50_ms,p99_ms,proxy_us,machine_us
        1,twemproxy,GET P1,100,0.5,0.8,9.0
        """));
    assertTrue(e.getMessage().contains(":2: fields: 7"), e.getMessage());
  }

  @Test
  void theTableGivesCpuPerRequestAndTheFloor() throws IOException {
    Results results = read("""
        round,proxy,case,rps,p50_ms,p99_ms,proxy_us,machine_us
        1,twemproxy,GET P16,800,0.9,1.4,1.15,2.27
        1,walnut-t1,GET P16,850,0.7,1.2,1.01,2.21
        1,walnut-t2,GET P16,900,0.7,1.5,1.16,2.43
        1,direct,GET P16,1700,0.3,0.7,,1.14
        """);
    String table = Report.table(results, "twemproxy");
    assertTrue(table.startsWith("| case | proxy | ops/s | p50 ms | p99 ms | ops/s ÷ twemproxy"
        + " | p99 ÷ twemproxy | proxy CPU µs/req | machine CPU µs/req | floor |\n"), table);
    assertTrue(table.contains("| walnut-t1 | 850 | 0.700 | 1.200 | ×1.06 | ×0.86 | 1.01 | 2.21"
        + " | met |"), table);
    assertTrue(table.contains("| walnut-t2 | 900 | 0.700 | 1.500 | ×1.13 | ×1.07 | 1.16 | 2.43"
        + " | missed (target 1,280) |"), table);
    assertTrue(table.contains("| direct | 1,700 | 0.300 | 0.700 | ×2.13 | ×0.50 | n/a | 1.14"
        + " | ceiling |"), table);
  }
}
