package walnut.benchmarks.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
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
  void readsP999ByItsHeaderAndLeavesItUnmeasuredInOlderFiles() throws IOException {
    Results now = read("""
        round,proxy,case,rps,p50_ms,p99_ms,p999_ms,proxy_us,machine_us
        1,twemproxy,GET P1,100,0.5,0.8,1.25,9.0,21.0
        2,twemproxy,GET P1,90,0.4,0.9,1.5,9.4,22.0
        1,twemproxy,mc get,70,,,,3.0,9.0
        """);
    assertEquals(1.375, now.cell("twemproxy", "GET P1").p999());
    assertTrue(Double.isNaN(now.cell("twemproxy", "mc get").p999()),
        "runs recorded with memcslap have no latency");
    Results before = read("""
        round,proxy,case,rps,p50_ms,p99_ms,proxy_us,machine_us
        1,twemproxy,GET P1,100,0.5,0.8,9.0,21.0
        """);
    Results.Cell cell = before.cell("twemproxy", "GET P1");
    assertTrue(Double.isNaN(cell.p999()));
    assertEquals(9.0, cell.proxyUs());
  }

  @Test
  void refusesALineWithAnotherNumberOfFields() {
    IOException e = assertThrows(IOException.class, () -> read("""
        round,proxy,case,rps,p50_ms,p99_ms,proxy_us,machine_us
        1,twemproxy,GET P1,100,0.5,0.8,9.0
        """));
    assertTrue(e.getMessage().contains(":2: fields: 7 (expected: 8"), e.getMessage());
  }

  @Test
  void refusesAFileWithoutTheColumnsItNeeds() {
    IOException e = assertThrows(IOException.class, () -> read("""
        round,proxy,rps
        1,twemproxy,100
        """));
    assertTrue(e.getMessage().contains(":1: the header has no proxy, case or rps"),
        e.getMessage());
  }

  @Test
  void theTableGivesCpuPerRequestAndTheFloor() throws IOException {
    Results results = read("""
        round,proxy,case,rps,p50_ms,p99_ms,p999_ms,proxy_us,machine_us
        1,twemproxy,GET P16,800,0.9,1.4,2.1,1.15,2.27
        1,walnut-t1,GET P16,850,0.7,1.2,1.9,1.01,2.21
        1,walnut-t2,GET P16,900,0.7,1.5,,1.16,2.43
        1,direct,GET P16,1700,0.3,0.7,0.9,,1.14
        """);
    String table = Report.table(results, "twemproxy");
    assertTrue(table.startsWith("| case | proxy | ops/s | p50 ms | p99 ms | p99.9 ms"
        + " | ops/s ÷ twemproxy | p99 ÷ twemproxy | proxy CPU µs/req | machine CPU µs/req"
        + " | floor |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n"), table);
    assertTrue(table.contains("| walnut-t1 | 850 | 0.700 | 1.200 | 1.900 | ×1.06 | ×0.86 | 1.01"
        + " | 2.21 | met |"), table);
    assertTrue(table.contains("| walnut-t2 | 900 | 0.700 | 1.500 | n/a | ×1.13 | ×1.07 | 1.16"
        + " | 2.43 | missed (target 1,280) |"), table);
    assertTrue(table.contains("| direct | 1,700 | 0.300 | 0.700 | 0.900 | ×2.13 | ×0.50 | n/a"
        + " | 1.14 | ceiling |"), table);
  }

  @Test
  void theTlsTableSetsEachTlsCaseBesideItsPlainCaseAndTheTlsCeiling() throws IOException {
    Results results = read("""
        round,proxy,case,rps,p50_ms,p99_ms,p999_ms,proxy_us,machine_us
        1,twemproxy,GET P1,100,0.5,0.8,1.2,8.0,20.0
        1,walnut-t1,GET P1,100,0.5,0.8,1.2,8.0,20.0
        1,direct,GET P1,200,0.2,0.4,0.5,,12.0
        1,walnut-t1,GET P1 TLS-client,80,0.6,1.0,1.5,10.0,25.0
        1,walnut-t1,GET P1 TLS-both,50,0.9,1.6,2.0,16.0,30.0
        1,direct,GET P1 TLS-both,160,0.3,0.5,0.6,,14.0
        1,walnut-t1,SET P1,90,0.5,0.8,1.2,8.0,20.0
        """);
    assertEquals("", Report.tlsTable(read("""
        round,proxy,case,rps,p50_ms,p99_ms,p999_ms,proxy_us,machine_us
        1,walnut-t1,GET P1,100,0.5,0.8,1.2,8.0,20.0
        """)), "no TLS case, no table");
    String table = Report.tlsTable(results);
    assertEquals("""
        | case | proxy | TLS | ops/s | ops/s ÷ plain | p99 ms | p99 ÷ plain | proxy CPU µs/req \
        | CPU ÷ plain | ops/s ÷ direct TLS | p99 ÷ direct TLS |
        |---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|
        | GET P1 | walnut-t1 | plain | 100 |  | 0.800 |  | 8.00 |  | ×0.63 | ×1.60 |
        |  | walnut-t1 | client | 80 | ×0.80 | 1.000 | ×1.25 | 10.00 | ×1.25 | ×0.50 | ×2.00 |
        |  | walnut-t1 | both | 50 | ×0.50 | 1.600 | ×2.00 | 16.00 | ×2.00 | ×0.31 | ×3.20 |
        |  | direct | plain | 200 |  | 0.400 |  | n/a |  |  |  |
        |  | direct | TLS | 160 | ×0.80 | 0.500 | ×1.25 | n/a |  |  |  |
        """, table);
    // The main table keeps one row per case and proxy, TLS cases among them.
    assertTrue(Report.table(results, "twemproxy").contains("| GET P1 TLS-both | walnut-t1 | 50 |"));
  }

  @Test
  void everyWalnutRowGetsTheFloorAndNoOtherProxyDoes() {
    Results.Cell base = new Results.Cell("twemproxy", "GET P1", 100, 0.5, 0.8, 1.0, 9, 20, 1);
    Results.Cell fast = new Results.Cell("x", "GET P1", 120, 0.4, 0.7, 0.9, 8, 19, 1);
    // --also and --transports together name walnut-<label>-<transport>-tN.
    assertEquals("met", Report.floor("walnut-before-nio-t1", fast, base, "twemproxy"));
    assertEquals("missed (target 160)", Report.floor("walnut-io_uring-t2", fast, base,
        "twemproxy"));
    assertEquals("", Report.floor("nc-0.4", fast, base, "twemproxy"), "a --proxy candidate");
  }

  @Test
  void writesTheMarkdownWithTheMemoryTableAndTheChart() throws IOException {
    Path raw = dir.resolve("runs.csv");
    Files.writeString(raw, """
        round,proxy,case,rps,p50_ms,p99_ms,p999_ms,proxy_us,machine_us
        1,twemproxy,GET P1,100,0.5,0.8,1.2,9.0,21.0
        1,walnut-t1,GET P1,110,0.4,0.7,1.1,8.0,20.0
        1,direct,GET P1,200,0.2,0.3,0.5,,15.0
        """);
    Path memory = dir.resolve("memory.csv");
    Memory.write(memory, List.of(
        new Memory.Row("twemproxy", 4096, 5000, 24576, 8192, 30, 5120, 0.0042),
        new Memory.Row("walnut-t1", 92160, 5000, 133120, -1, 30, 110592, 0.61)));
    Path md = dir.resolve("e2e.md");
    Path png = dir.resolve("e2e.png");
    String text = Report.write(raw, memory, "## Title\n", "twemproxy", md, png, "title");
    assertEquals(text, Files.readString(md));
    assertTrue(text.startsWith("## Title\n\n| case | proxy |"), text);
    assertTrue(text.contains("""
        | proxy | idle MiB | with 5,000 idle clients MiB | KiB per idle client \
        | after the load MiB | 30 s after MiB | 30 s after ÷ idle | -t s |
        |---|--:|--:|--:|--:|--:|--:|--:|
        | twemproxy | 4.0 | 24.0 | 4.1 | 8.0 | 5.0 | ×1.25 | 0.004 |
        | walnut-t1 | 90.0 | 130.0 | 8.2 | n/a | 108.0 | ×1.20 | 0.610 |
        """), text);
    BufferedImage image = ImageIO.read(png.toFile());
    assertEquals(1400, image.getWidth());
    assertEquals(60 + 4 * 380 + 60, image.getHeight(), "four panels with memory figures");
  }

  @Test
  void theMemoryFileReadsBackAsWritten() throws IOException {
    Path memory = dir.resolve("memory.csv");
    List<Memory.Row> rows = List.of(
        new Memory.Row("twemproxy", 4096, 4000, 20480, 8192, 5, 6144, 0.0031),
        new Memory.Row("mine", 1024, -1, -1, 2048, 0, -1, Double.NaN));
    Memory.write(memory, rows);
    assertEquals("""
        proxy,idle_kib,idle_clients,with_clients_kib,after_load_kib,settle_s,settled_kib,conf_test_s
        twemproxy,4096,4000,20480,8192,5,6144,0.0031
        mine,1024,,,2048,,,
        """, Files.readString(memory));
    assertEquals(rows, Memory.read(memory));
    assertTrue(Double.isNaN(rows.get(1).perClientKib()));
    String table = Memory.table(rows);
    assertTrue(table.contains("| 5 s after MiB | 5 s after ÷ idle | -t s |"), table);
    assertTrue(table.contains("| twemproxy | 4.0 | 20.0 | 4.1 | 8.0 | 6.0 | ×1.50 | 0.003 |"),
        table);
    assertTrue(table.contains("| mine | 1.0 | n/a | n/a | 2.0 | n/a | n/a | n/a |"),
        table);
  }

  @Test
  void readsMemoryFilesRecordedBeforeTheSettleAndTheConfigurationTest() throws IOException {
    Path memory = dir.resolve("memory.csv");
    Files.writeString(memory, """
        proxy,idle_kib,idle_clients,with_clients_kib,after_load_kib
        twemproxy,4096,4000,20480,8192
        """);
    assertEquals(List.of(new Memory.Row("twemproxy", 4096, 4000, 20480, 8192, 0, -1, Double.NaN)),
        Memory.read(memory));
    IOException e = assertThrows(IOException.class, () -> {
      Files.writeString(memory, "proxy,idle_kib\ntwemproxy,4096\n");
      Memory.read(memory);
    });
    assertTrue(e.getMessage().endsWith(":1: expected the header " + Memory.HEADER),
        e.getMessage());
  }
}
