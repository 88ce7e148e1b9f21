package walnut.benchmarks.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The end-to-end runs, as {@link EndToEnd} records them, reduced to one figure per case and proxy:
 * the median over the rounds of throughput, p50, p99, p99.9 and CPU per request.
 *
 * <p>The raw file is CSV with a header, one line per run:
 * {@code round,proxy,case,rps,p50_ms,p99_ms,p999_ms,proxy_us,machine_us}: the CPU time of the
 * proxy process and of the whole machine during the run, in microseconds per request. A figure not
 * measured is empty ({@code direct} has no proxy; runs recorded with memcslap, before mcload, have
 * no latency). Columns are found by their header, so files written before p99.9 (eight columns)
 * or before the CPU columns (six) are read too; their missing figures are not measured. Cases and
 * proxies keep the order of their first line, which is the run's order.
 */
final class Results {

  /** The median figures of one proxy in one case; NaN where not measured. */
  record Cell(String proxy, String testCase, double rps, double p50, double p99, double p999,
      double proxyUs, double machineUs, int runs) {}

  /** The header {@link EndToEnd} writes; the figures' columns in {@link Cell}'s order. */
  static final String HEADER = "round,proxy,case,rps,p50_ms,p99_ms,p999_ms,proxy_us,machine_us";

  private static final List<String> FIGURES =
      List.of("rps", "p50_ms", "p99_ms", "p999_ms", "proxy_us", "machine_us");

  private final List<String> cases;
  private final List<String> proxies;
  private final Map<String, Cell> cells;

  private Results(List<String> cases, List<String> proxies, Map<String, Cell> cells) {
    this.cases = cases;
    this.proxies = proxies;
    this.cells = cells;
  }

  static Results read(Path raw) throws IOException {
    Set<String> cases = new LinkedHashSet<>();
    Set<String> proxies = new LinkedHashSet<>();
    Map<String, List<double[]>> runs = new LinkedHashMap<>();
    List<String> lines = Files.readAllLines(raw, StandardCharsets.UTF_8);
    if (lines.isEmpty()) {
      throw new IOException(raw + ": empty (expected the header " + HEADER + ")");
    }
    List<String> header = List.of(lines.get(0).strip().split(",", -1));
    int proxyAt = header.indexOf("proxy");
    int caseAt = header.indexOf("case");
    int[] figureAt = FIGURES.stream().mapToInt(header::indexOf).toArray();
    if (proxyAt < 0 || caseAt < 0 || figureAt[0] < 0) {
      throw new IOException(raw + ":1: the header has no proxy, case or rps column (expected: "
          + HEADER + ")");
    }
    for (int n = 1; n < lines.size(); n++) {
      String line = lines.get(n).strip();
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split(",", -1);
      if (f.length != header.size()) {
        throw new IOException(raw + ":" + (n + 1) + ": fields: " + f.length + " (expected: "
            + header.size() + ", " + String.join(",", header) + ")");
      }
      proxies.add(f[proxyAt]);
      cases.add(f[caseAt]);
      double[] figures = new double[figureAt.length];
      for (int i = 0; i < figureAt.length; i++) {
        figures[i] = figureAt[i] < 0 ? Double.NaN : number(f[figureAt[i]]);
      }
      runs.computeIfAbsent(key(f[proxyAt], f[caseAt]), k -> new ArrayList<>()).add(figures);
    }
    Map<String, Cell> cells = new LinkedHashMap<>();
    for (String proxy : proxies) {
      for (String testCase : cases) {
        List<double[]> r = runs.get(key(proxy, testCase));
        if (r != null) {
          cells.put(key(proxy, testCase), new Cell(proxy, testCase, median(r, 0), median(r, 1),
              median(r, 2), median(r, 3), median(r, 4), median(r, 5), r.size()));
        }
      }
    }
    return new Results(List.copyOf(cases), List.copyOf(proxies), cells);
  }

  List<String> cases() {
    return cases;
  }

  List<String> proxies() {
    return proxies;
  }

  /** The figures of {@code proxy} in {@code testCase}, or {@code null} when it did not run. */
  Cell cell(String proxy, String testCase) {
    return cells.get(key(proxy, testCase));
  }

  private static String key(String proxy, String testCase) {
    return proxy + '\u0000' + testCase;
  }

  private static double number(String s) {
    return s.isBlank() ? Double.NaN : Double.parseDouble(s.strip());
  }

  /** The median of column {@code i}, ignoring NaN; NaN when every run lacks it. */
  private static double median(List<double[]> runs, int i) {
    double[] v = runs.stream().mapToDouble(r -> r[i]).filter(d -> !Double.isNaN(d)).toArray();
    if (v.length == 0) {
      return Double.NaN;
    }
    Arrays.sort(v);
    int mid = v.length / 2;
    return v.length % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  }
}
