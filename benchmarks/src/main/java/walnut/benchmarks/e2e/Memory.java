package walnut.benchmarks.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The proxies' footprint: resident memory (VmRSS) at four moments of the end-to-end run (idle
 * after start, with many idle client connections open, right after the load, and {@code --settle}
 * seconds later), and the wall time of the proxy's configuration test ({@code -t}).
 *
 * <p>The file is CSV with a header ({@link #HEADER}), one line per proxy. {@code idle_clients} is
 * how many connections the proxy held for the second figure, {@code settle_s} how long it was
 * left alone before {@code settled_kib}, {@code conf_test_s} the median seconds of its {@code -t};
 * a figure not measured is empty. Columns are found by their header, so files written before the
 * last three columns are read too, those figures not measured.
 */
final class Memory {

  static final String HEADER = "proxy,idle_kib,idle_clients,with_clients_kib,after_load_kib,"
      + "settle_s,settled_kib,conf_test_s";

  private static final List<String> COLUMNS = List.of(HEADER.split(","));

  /** One proxy's figures in KiB and seconds; -1 (NaN for the seconds) where not measured. */
  record Row(String proxy, long idleKib, int idleClients, long withClientsKib, long afterLoadKib,
      int settleSeconds, long settledKib, double confTestSeconds) {

    /** The memory one idle client costs the proxy, in KiB; NaN when not measured. */
    double perClientKib() {
      return idleKib < 0 || withClientsKib < 0 || idleClients <= 0 ? Double.NaN
          : (double) (withClientsKib - idleKib) / idleClients;
    }

    String csv() {
      return proxy + "," + figure(idleKib) + "," + (idleClients < 0 ? "" : idleClients) + ","
          + figure(withClientsKib) + "," + figure(afterLoadKib) + ","
          + (settleSeconds <= 0 ? "" : settleSeconds) + "," + figure(settledKib) + ","
          + (Double.isNaN(confTestSeconds) ? ""
              : String.format(Locale.ROOT, "%.4f", confTestSeconds));
    }
  }

  private Memory() {}

  static void write(Path file, List<Row> rows) throws IOException {
    StringBuilder b = new StringBuilder(HEADER).append('\n');
    for (Row r : rows) {
      b.append(r.csv()).append('\n');
    }
    Files.writeString(file, b, StandardCharsets.UTF_8);
  }

  static List<Row> read(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    List<String> header = lines.isEmpty() ? List.of() : List.of(lines.get(0).strip().split(","));
    int[] at = COLUMNS.stream().mapToInt(header::indexOf).toArray();
    for (int i = 0; i < 5; i++) {
      if (at[i] < 0) {
        throw new IOException(file + ":1: expected the header " + HEADER);
      }
    }
    List<Row> rows = new ArrayList<>();
    for (int n = 1; n < lines.size(); n++) {
      String line = lines.get(n).strip();
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split(",", -1);
      if (f.length != header.size()) {
        throw new IOException(file + ":" + (n + 1) + ": fields: " + f.length + " (expected: "
            + header.size() + ", " + String.join(",", header) + ")");
      }
      rows.add(new Row(f[at[0]], number(f, at[1]), (int) number(f, at[2]), number(f, at[3]),
          number(f, at[4]), (int) Math.max(0, number(f, at[5])), number(f, at[6]),
          at[7] < 0 || f[at[7]].isBlank() ? Double.NaN : Double.parseDouble(f[at[7]].strip())));
    }
    return rows;
  }

  /**
   * The Markdown table: MiB at each moment, the KiB one idle client costs, the memory
   * {@code --settle} seconds after the load against the idle memory, and the {@code -t} time.
   */
  static String table(List<Row> rows) {
    int clients = rows.stream().mapToInt(Row::idleClients).max().orElse(0);
    String with = clients > 0 ? String.format(Locale.ROOT, "with %,d idle clients", clients)
        : "with idle clients";
    String later = later(rows);
    StringBuilder b = new StringBuilder();
    b.append("| proxy | idle MiB | ").append(with)
        .append(" MiB | KiB per idle client | after the load MiB | ").append(later)
        .append(" MiB | ").append(later).append(" ÷ idle | -t s |\n");
    b.append("|---|--:|--:|--:|--:|--:|--:|--:|\n");
    for (Row r : rows) {
      b.append("| ").append(r.proxy())
          .append(" | ").append(mib(r.idleKib()))
          .append(" | ").append(mib(r.withClientsKib()))
          .append(r.idleClients() >= 0 && r.idleClients() != clients
              ? String.format(Locale.ROOT, " (%,d held)", r.idleClients()) : "")
          .append(" | ").append(Double.isNaN(r.perClientKib()) ? "n/a"
              : String.format(Locale.ROOT, "%.1f", r.perClientKib()))
          .append(" | ").append(mib(r.afterLoadKib()))
          .append(" | ").append(mib(r.settledKib()))
          .append(" | ").append(r.settledKib() < 0 || r.idleKib() <= 0 ? "n/a"
              : Report.ratio(r.settledKib(), r.idleKib()))
          .append(" | ").append(Double.isNaN(r.confTestSeconds()) ? "n/a"
              : String.format(Locale.ROOT, "%.3f", r.confTestSeconds()))
          .append(" |\n");
    }
    return b.toString();
  }

  /** The name of the moment after the settle, "30 s after" (the longest wait in the rows). */
  static String later(List<Row> rows) {
    int seconds = rows.stream().mapToInt(Row::settleSeconds).max().orElse(0);
    return seconds > 0 ? seconds + " s after" : "settled";
  }

  static String mib(long kib) {
    return kib < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", kib / 1024.0);
  }

  private static String figure(long v) {
    return v < 0 ? "" : Long.toString(v);
  }

  private static long number(String[] fields, int at) {
    return at < 0 || fields[at].isBlank() ? -1 : Long.parseLong(fields[at].strip());
  }
}
