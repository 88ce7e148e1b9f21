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
 * The end-to-end runs, as {@code benchmarks/e2e/run.sh} records them, reduced to one figure per
 * case and proxy: the median over the rounds of throughput, p50, p99 and CPU per request.
 *
 * <p>The raw file is CSV with a header, one line per run:
 * {@code round,proxy,case,rps,p50_ms,p99_ms,proxy_us,machine_us}: the CPU time of the proxy
 * process and of the whole machine during the run, in microseconds per request. A figure not
 * measured is empty (memcslap reports no latency; {@code direct} has no proxy); files written
 * before the CPU columns, with six fields, are read too. Cases and proxies keep the order of
 * their first line, which is the script's order.
 */
final class Results {

  /** The median figures of one proxy in one case; NaN where not measured. */
  record Cell(String proxy, String testCase, double rps, double p50, double p99, double proxyUs,
      double machineUs, int runs) {}

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
    for (int n = 1; n < lines.size(); n++) { // line 0 is the header
      String line = lines.get(n).strip();
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split(",", -1);
      if (f.length != 6 && f.length != 8) {
        throw new IOException(raw + ":" + (n + 1) + ": fields: " + f.length
            + " (expected: 8, round,proxy,case,rps,p50_ms,p99_ms,proxy_us,machine_us; or the"
            + " first 6)");
      }
      proxies.add(f[1]);
      cases.add(f[2]);
      runs.computeIfAbsent(key(f[1], f[2]), k -> new ArrayList<>())
          .add(new double[] {number(f[3]), number(f[4]), number(f[5]),
              f.length == 8 ? number(f[6]) : Double.NaN,
              f.length == 8 ? number(f[7]) : Double.NaN});
    }
    Map<String, Cell> cells = new LinkedHashMap<>();
    for (String proxy : proxies) {
      for (String testCase : cases) {
        List<double[]> r = runs.get(key(proxy, testCase));
        if (r != null) {
          cells.put(key(proxy, testCase), new Cell(proxy, testCase, median(r, 0), median(r, 1),
              median(r, 2), median(r, 3), median(r, 4), r.size()));
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
