package walnut.benchmarks.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns the end-to-end runs into the Markdown tables and the PNG chart of
 * {@code benchmarks/results/}; {@link EndToEnd} calls it at the end of a run, and it runs alone
 * on recorded files as {@code java -cp benchmarks.jar walnut.benchmarks.e2e.Report --raw
 * e2e-runs.csv [--memory e2e-memory.csv] [--meta meta.md] [--markdown e2e.md] [--chart e2e.png]}.
 * Prints the Markdown to standard output as well.
 *
 * <p>One row per case and proxy: median ops/s, p50, p99 and p99.9 over the rounds (every case has
 * them: redis-benchmark's for the Redis cases, mcload's for the memcached ones), and the ratios
 * to the baseline proxy ({@code twemproxy}) — throughput ratio above 1 and p99 ratio below 1 are
 * better;
 * then the CPU time per request, of the proxy process and of the whole machine (load generator
 * and backends included), which explains a throughput bounded by a saturated machine.
 * The last column checks issue #10's floor: {@code walnut-t1} at least matches the baseline's
 * throughput and p99; {@code walnut-tN} reaches 0.8 × N × the baseline's throughput (until the
 * backends or the machine's cores saturate, which the {@code direct} rows bound). With a memory
 * file, a second table gives each proxy's footprint ({@link Memory}): its resident memory at each
 * moment, and the time of its configuration test ({@code -t}).
 */
public final class Report {

  private static final Pattern THREADS = Pattern.compile("walnut-(?:[a-z_]+-)*t(\\d+)");

  private Report() {}

  public static void main(String[] args) throws IOException {
    Map<String, String> opts = options(args);
    String meta = opts.containsKey("--meta")
        ? Files.readString(Path.of(opts.get("--meta")), StandardCharsets.UTF_8) : "";
    String text = write(Path.of(require(opts, "--raw")),
        opts.containsKey("--memory") ? Path.of(opts.get("--memory")) : null, meta,
        opts.getOrDefault("--baseline", "twemproxy"),
        opts.containsKey("--markdown") ? Path.of(opts.get("--markdown")) : null,
        opts.containsKey("--chart") ? Path.of(opts.get("--chart")) : null,
        opts.getOrDefault("--title", "Walnut vs twemproxy, end to end"));
    System.out.print(text);
  }

  /**
   * Writes the Markdown ({@code meta}, then the tables) and the chart where they are not null,
   * and returns the Markdown. {@code memory} may be null: no memory table then.
   */
  static String write(Path raw, Path memory, String meta, String baseline, Path markdown,
      Path chart, String title) throws IOException {
    Results results = Results.read(raw);
    List<Memory.Row> rows = memory == null ? List.of() : Memory.read(memory);
    StringBuilder md = new StringBuilder();
    if (!meta.isBlank()) {
      md.append(meta.strip()).append("\n\n");
    }
    md.append(table(results, baseline));
    String tls = tlsTable(results);
    if (!tls.isEmpty()) {
      md.append("\nWhat TLS costs (issue #23): each TLS case beside its plain case, for the same"
          + " proxy; ÷ plain is the TLS row over the plain row, ÷ direct TLS the row over"
          + " `direct` with TLS (redis-benchmark --tls straight to a TLS redis-server):\n\n")
          .append(tls);
    }
    if (!rows.isEmpty()) {
      md.append("\nResident memory (VmRSS) of each proxy process:\n\n").append(Memory.table(rows));
    }
    String text = md.toString();
    if (markdown != null) {
      Files.writeString(markdown, text, StandardCharsets.UTF_8);
    }
    if (chart != null) {
      Chart.write(results, rows, chart, title);
    }
    return text;
  }

  static String table(Results results, String baseline) {
    StringBuilder b = new StringBuilder();
    b.append("| case | proxy | ops/s | p50 ms | p99 ms | p99.9 ms | ops/s ÷ ").append(baseline)
        .append(" | p99 ÷ ").append(baseline)
        .append(" | proxy CPU µs/req | machine CPU µs/req | floor |\n");
    b.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
    for (String testCase : results.cases()) {
      Results.Cell base = results.cell(baseline, testCase);
      boolean first = true;
      for (String proxy : results.proxies()) {
        Results.Cell c = results.cell(proxy, testCase);
        if (c == null) {
          continue;
        }
        b.append("| ").append(first ? testCase : "").append(" | ").append(proxy)
            .append(" | ").append(rps(c.rps()))
            .append(" | ").append(ms(c.p50()))
            .append(" | ").append(ms(c.p99()))
            .append(" | ").append(ms(c.p999()))
            .append(" | ").append(base == null ? "" : ratio(c.rps(), base.rps()))
            .append(" | ").append(base == null ? "" : ratio(c.p99(), base.p99()))
            .append(" | ").append(us(c.proxyUs()))
            .append(" | ").append(us(c.machineUs()))
            .append(" | ").append(floor(proxy, c, base, baseline))
            .append(" |\n");
        first = false;
      }
    }
    return b.toString();
  }

  /**
   * The TLS cost table: per workload with TLS variants, per proxy that ran one of them, a row for
   * the plain case and one per TLS variant, with the ratios to the plain row and to {@code
   * direct}'s {@code TLS-both} row (TLS straight to a backend); empty without TLS cases.
   */
  static String tlsTable(Results results) {
    List<String> workloads = new ArrayList<>();
    for (String c : results.cases()) {
      if (TlsCase.of(c) != TlsCase.PLAIN && !workloads.contains(TlsCase.workload(c))) {
        workloads.add(TlsCase.workload(c));
      }
    }
    if (workloads.isEmpty()) {
      return "";
    }
    StringBuilder b = new StringBuilder();
    b.append("| case | proxy | TLS | ops/s | ops/s ÷ plain | p99 ms | p99 ÷ plain"
        + " | proxy CPU µs/req | CPU ÷ plain | ops/s ÷ direct TLS | p99 ÷ direct TLS |\n");
    b.append("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (String w : workloads) {
      Results.Cell ceiling = results.cell("direct", w + TlsCase.BOTH.suffix);
      boolean first = true;
      for (String proxy : results.proxies()) {
        boolean any = TlsCase.VARIANTS.stream()
            .anyMatch(t -> results.cell(proxy, w + t.suffix) != null);
        if (!any) {
          continue;
        }
        Results.Cell plain = results.cell(proxy, w);
        for (TlsCase t : TlsCase.values()) {
          Results.Cell c = results.cell(proxy, w + t.suffix);
          if (c == null) {
            continue;
          }
          boolean isPlain = t == TlsCase.PLAIN;
          boolean direct = proxy.equals("direct");
          b.append("| ").append(first ? w : "").append(" | ").append(proxy)
              .append(" | ").append(direct && !isPlain ? "TLS" : t.label())
              .append(" | ").append(rps(c.rps()))
              .append(" | ").append(isPlain || plain == null ? "" : ratio(c.rps(), plain.rps()))
              .append(" | ").append(ms(c.p99()))
              .append(" | ").append(isPlain || plain == null ? "" : ratio(c.p99(), plain.p99()))
              .append(" | ").append(us(c.proxyUs()))
              .append(" | ").append(isPlain || plain == null || direct ? ""
                  : ratio(c.proxyUs(), plain.proxyUs()))
              .append(" | ").append(ceiling == null || direct ? ""
                  : ratio(c.rps(), ceiling.rps()))
              .append(" | ").append(ceiling == null || direct ? ""
                  : ratio(c.p99(), ceiling.p99()))
              .append(" |\n");
          first = false;
        }
      }
    }
    return b.toString();
  }

  /** Issue #10's floor for a Walnut row; empty for other proxies. */
  static String floor(String proxy, Results.Cell c, Results.Cell base, String baseline) {
    Matcher m = THREADS.matcher(proxy);
    if (base == null || proxy.equals(baseline) || !m.matches()) {
      return proxy.equals("direct") ? "ceiling" : "";
    }
    int threads = Integer.parseInt(m.group(1));
    if (threads == 1) {
      boolean rpsOk = c.rps() >= base.rps();
      boolean p99Ok = Double.isNaN(c.p99()) || Double.isNaN(base.p99()) || c.p99() <= base.p99();
      if (rpsOk && p99Ok) {
        return "met";
      }
      return "missed (" + (rpsOk ? "p99" : p99Ok ? "ops/s" : "ops/s, p99") + ")";
    }
    double target = 0.8 * threads * base.rps();
    return c.rps() >= target ? "met" : String.format(Locale.ROOT, "missed (target %s)",
        rps(target));
  }

  static String rps(double v) {
    return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%,.0f", v);
  }

  static String ms(double v) {
    return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.3f", v);
  }

  static String us(double v) {
    return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.2f", v);
  }

  static String ratio(double v, double base) {
    if (Double.isNaN(v) || Double.isNaN(base) || base == 0) {
      return "n/a";
    }
    return String.format(Locale.ROOT, "×%.2f", v / base);
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> opts = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 == args.length) {
        throw new IllegalArgumentException("option: '" + args[i]
            + "' (expected: --raw FILE [--memory FILE] [--meta FILE] [--markdown FILE]"
            + " [--chart FILE] [--baseline NAME] [--title TEXT])");
      }
      opts.put(args[i], args[++i]);
    }
    return opts;
  }

  private static String require(Map<String, String> opts, String name) {
    String v = opts.get(name);
    if (v == null) {
      throw new IllegalArgumentException(name + " is required");
    }
    return v;
  }
}
