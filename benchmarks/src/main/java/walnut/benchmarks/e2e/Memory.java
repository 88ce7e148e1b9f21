package walnut.benchmarks.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The proxies' resident memory (VmRSS) at three moments of the end-to-end run: idle after start,
 * with many idle client connections open, and after the load. The file is CSV with a header, one
 * line per proxy: {@code proxy,idle_kib,idle_clients,with_clients_kib,after_load_kib}, where
 * {@code idle_clients} is how many connections the proxy held for the second figure; a figure not
 * measured is empty.
 */
final class Memory {

  static final String HEADER = "proxy,idle_kib,idle_clients,with_clients_kib,after_load_kib";

  /** One proxy's figures in KiB; -1 where not measured. */
  record Row(String proxy, long idleKib, int idleClients, long withClientsKib,
      long afterLoadKib) {

    /** The memory one idle client costs the proxy, in KiB; NaN when not measured. */
    double perClientKib() {
      return idleKib < 0 || withClientsKib < 0 || idleClients <= 0 ? Double.NaN
          : (double) (withClientsKib - idleKib) / idleClients;
    }

    String csv() {
      return proxy + "," + figure(idleKib) + "," + (idleClients < 0 ? "" : idleClients) + ","
          + figure(withClientsKib) + "," + figure(afterLoadKib);
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
    if (lines.isEmpty() || !lines.get(0).strip().equals(HEADER)) {
      throw new IOException(file + ":1: expected the header " + HEADER);
    }
    List<Row> rows = new ArrayList<>();
    for (int n = 1; n < lines.size(); n++) {
      String line = lines.get(n).strip();
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split(",", -1);
      if (f.length != 5) {
        throw new IOException(file + ":" + (n + 1) + ": fields: " + f.length + " (expected: 5, "
            + HEADER + ")");
      }
      rows.add(new Row(f[0], number(f[1]), (int) number(f[2]), number(f[3]), number(f[4])));
    }
    return rows;
  }

  /** The Markdown table: MiB at each moment, and the KiB one idle client costs. */
  static String table(List<Row> rows) {
    int clients = rows.stream().mapToInt(Row::idleClients).max().orElse(0);
    String with = clients > 0 ? String.format(Locale.ROOT, "with %,d idle clients", clients)
        : "with idle clients";
    StringBuilder b = new StringBuilder();
    b.append("| proxy | idle MiB | ").append(with)
        .append(" MiB | KiB per idle client | after the load MiB |\n");
    b.append("|---|--:|--:|--:|--:|\n");
    for (Row r : rows) {
      b.append("| ").append(r.proxy())
          .append(" | ").append(mib(r.idleKib()))
          .append(" | ").append(mib(r.withClientsKib()))
          .append(r.idleClients() >= 0 && r.idleClients() != clients
              ? String.format(Locale.ROOT, " (%,d held)", r.idleClients()) : "")
          .append(" | ").append(Double.isNaN(r.perClientKib()) ? "n/a"
              : String.format(Locale.ROOT, "%.1f", r.perClientKib()))
          .append(" | ").append(mib(r.afterLoadKib()))
          .append(" |\n");
    }
    return b.toString();
  }

  static String mib(long kib) {
    return kib < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", kib / 1024.0);
  }

  private static String figure(long v) {
    return v < 0 ? "" : Long.toString(v);
  }

  private static long number(String s) {
    return s.isBlank() ? -1 : Long.parseLong(s.strip());
  }
}
