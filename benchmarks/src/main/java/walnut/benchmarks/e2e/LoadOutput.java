package walnut.benchmarks.e2e;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the figures of one run out of what the load generators print: {@code redis-benchmark}
 * 7.x without {@code --csv}, and {@code mcload} ({@code benchmarks/e2e/mcload.c}).
 *
 * <p>From redis-benchmark: the throughput and the p50 and p99 of its "Summary" (the figures its
 * {@code --csv} line holds), and p99.9 from its "Latency by percentile distribution". That
 * distribution is HdrHistogram's percentile iteration, whose steps halve the distance to 100 %
 * (50, 75, 87.5, … 99.805, 99.902, 99.951 %), so it never prints 99.9 % itself: p99.9 here is the
 * value of the first step at or above 99.9 % (99.902 % in practice), an upper bound of the true
 * p99.9 by at most one step.
 *
 * <p>From mcload: its summary of {@code name: value} lines, exact percentiles over every request.
 * A run with error replies (SERVER_ERROR and the like, which mcload counts and still summarizes)
 * is a failure that names the first error; a run without a summary (a refused or closed
 * connection) is a failure that says what mcload printed instead.
 */
final class LoadOutput {

  /** The figures of one run; latencies in ms, NaN when the tool does not measure them. */
  record Figures(double rps, double p50, double p99, double p999) {}

  /** The output holds no figures: a failed run; the message says what the tool printed. */
  static final class Unreadable extends Exception {
    Unreadable(String message) {
      super(message);
    }
  }

  private static final Pattern THROUGHPUT =
      Pattern.compile("throughput summary:\\s*([0-9.]+) requests per second");
  private static final Pattern PERCENTILE =
      Pattern.compile("^\\s*([0-9.]+)% <= ([0-9.]+) milliseconds");
  private static final Pattern MCLOAD_LINE = Pattern.compile("^([a-z0-9. /]+): (.*)$");

  private LoadOutput() {}

  static Figures redisBenchmark(String output) throws Unreadable {
    List<String> lines = lines(output);
    double rps = Double.NaN;
    double p50 = Double.NaN;
    double p99 = Double.NaN;
    double p999 = Double.NaN;
    boolean distribution = false;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      Matcher t = THROUGHPUT.matcher(line);
      if (t.find()) {
        rps = Double.parseDouble(t.group(1));
      } else if (line.strip().startsWith("latency summary") && i + 2 < lines.size()) {
        // A header line (avg min p50 p95 p99 max) over a line of values, matched by name.
        String[] names = lines.get(i + 1).strip().split("\\s+");
        String[] values = lines.get(i + 2).strip().split("\\s+");
        for (int k = 0; k < Math.min(names.length, values.length); k++) {
          switch (names[k]) {
            case "p50" -> p50 = Double.parseDouble(values[k]);
            case "p99" -> p99 = Double.parseDouble(values[k]);
            default -> { }
          }
        }
      } else if (line.startsWith("Latency by percentile distribution")) {
        distribution = true;
      } else if (distribution) {
        Matcher m = PERCENTILE.matcher(line);
        if (!m.find()) {
          distribution = false; // the section ends at its blank line
        } else if (Double.isNaN(p999) && Double.parseDouble(m.group(1)) >= 99.9) {
          p999 = Double.parseDouble(m.group(2));
        }
      }
    }
    if (Double.isNaN(rps) || rps <= 0 || Double.isNaN(p50) || Double.isNaN(p99)) {
      throw new Unreadable("redis-benchmark printed no summary: " + firstLine(lines));
    }
    return new Figures(rps, p50, p99, p999);
  }

  static Figures mcload(String output) throws Unreadable {
    List<String> lines = lines(output);
    Map<String, String> summary = new HashMap<>();
    for (String line : lines) {
      Matcher m = MCLOAD_LINE.matcher(line.strip());
      if (m.matches()) {
        summary.putIfAbsent(m.group(1), m.group(2).strip());
      }
    }
    if (!summary.containsKey("requests") || !summary.containsKey("ops/s")) {
      throw new Unreadable("mcload printed no summary: " + firstLine(lines));
    }
    long errors = (long) number(summary, "errors");
    if (errors > 0) {
      throw new Unreadable("mcload: " + errors + " of " + summary.get("requests")
          + " replies were errors, the first: " + summary.getOrDefault("first error", "?"));
    }
    double rps = number(summary, "ops/s");
    if (!(rps > 0)) {
      throw new Unreadable("mcload: ops/s " + summary.get("ops/s"));
    }
    return new Figures(rps, number(summary, "p50 ms"), number(summary, "p99 ms"),
        number(summary, "p99.9 ms"));
  }

  private static double number(Map<String, String> summary, String name) throws Unreadable {
    String v = summary.getOrDefault(name, "(missing)");
    try {
      return Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new Unreadable("mcload's summary has no number for '" + name + "': " + v);
    }
  }

  /** The lines, the progress redraws ({@code \r}) split apart so none hides a figure. */
  private static List<String> lines(String output) {
    return List.of(output.split("\r\n|\r|\n", -1));
  }

  private static String firstLine(List<String> lines) {
    return lines.stream().map(String::strip).filter(l -> !l.isEmpty()).findFirst()
        .orElse("(nothing)");
  }
}
