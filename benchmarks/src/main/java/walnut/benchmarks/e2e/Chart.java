package walnut.benchmarks.e2e;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import javax.imageio.ImageIO;

/**
 * Draws the end-to-end chart: throughput, p99 and p99.9 latency per case, one bar per proxy side
 * by side, values printed over the bars; then, given memory figures, each proxy's resident memory
 * idle, with idle clients, after the load and, if measured, {@code --settle} seconds later.
 *
 * <p>Implementation note: plain Java2D on a headless {@link BufferedImage} written with
 * {@link ImageIO}, because the machines this runs on have a JDK but no plotting tools. Each case
 * has its own linear scale from zero to its largest figure, because the question a group answers
 * is how the proxies compare in that case, and pipelined cases run ten times faster than the
 * others, which would flatten them on a shared axis. A missing figure (a proxy may have skipped a
 * case; runs recorded with memcslap have no latency) leaves a gap marked {@code n/a}. A proxy
 * keeps its colour in every panel.
 */
final class Chart {

  private static final int WIDTH = 1400;
  private static final int PANEL_HEIGHT = 380;
  private static final int TOP = 60;
  private static final int LEFT = 90;
  private static final int RIGHT = 30;
  private static final int BOTTOM = 60;
  private static final Color[] COLORS = {
      new Color(0x9e9e9e), new Color(0x2e7d32), new Color(0x66bb6a), new Color(0x1565c0),
      new Color(0xef6c00), new Color(0x6a1b9a), new Color(0x00838f)};

  private Chart() {}

  /** What one panel draws: the value of a proxy in a group (a case, a moment), or NaN. */
  private interface Figure {
    double of(String proxy, String group);
  }

  static void write(Results results, List<Memory.Row> memory, Path png, String title)
      throws IOException {
    int panels = memory.isEmpty() ? 3 : 4;
    int height = TOP + panels * PANEL_HEIGHT + BOTTOM;
    BufferedImage image = new BufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = image.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
      g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING,
          RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
      g.setColor(Color.WHITE);
      g.fillRect(0, 0, WIDTH, height);
      g.setColor(Color.BLACK);
      g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
      g.drawString(title, LEFT, 28);
      List<String> proxies = results.proxies();
      legend(g, proxies);
      panel(g, proxies, results.cases(), proxies, TOP,
          "throughput, ops/s (median; higher is better)", cell(results, Results.Cell::rps), false);
      panel(g, proxies, results.cases(), proxies, TOP + PANEL_HEIGHT,
          "p99 latency, ms (median; lower is better)", cell(results, Results.Cell::p99), true);
      panel(g, proxies, results.cases(), proxies, TOP + 2 * PANEL_HEIGHT,
          "p99.9 latency, ms (median; lower is better; redis-benchmark's 99.902nd percentile,"
              + " mcload's exact p99.9)",
          cell(results, Results.Cell::p999), true);
      if (!memory.isEmpty()) {
        int clients = memory.stream().mapToInt(Memory.Row::idleClients).max().orElse(0);
        List<String> moments = new ArrayList<>(List.of("idle", clients > 0
            ? String.format(Locale.ROOT, "%,d idle clients", clients) : "idle clients",
            "after the load"));
        String later = Memory.later(memory);
        if (memory.stream().anyMatch(r -> r.settledKib() >= 0)) {
          moments.add(later);
        }
        List<String> measured = proxies.stream()
            .filter(p -> memory.stream().anyMatch(r -> r.proxy().equals(p))).toList();
        panel(g, proxies, moments, measured, TOP + 3 * PANEL_HEIGHT,
            "resident memory, MiB (VmRSS; lower is better)", (proxy, moment) -> {
              for (Memory.Row r : memory) {
                if (r.proxy().equals(proxy)) {
                  long kib = moment.equals("idle") ? r.idleKib()
                      : moment.equals("after the load") ? r.afterLoadKib()
                      : moment.equals(later) ? r.settledKib() : r.withClientsKib();
                  return kib < 0 ? Double.NaN : kib / 1024.0;
                }
              }
              return Double.NaN;
            }, true);
      }
    } finally {
      g.dispose();
    }
    if (!ImageIO.write(image, "png", png.toFile())) {
      throw new IOException("no PNG writer for " + png);
    }
  }

  private static Figure cell(Results results, ToDoubleFunction<Results.Cell> value) {
    return (proxy, testCase) -> {
      Results.Cell c = results.cell(proxy, testCase);
      return c == null ? Double.NaN : value.applyAsDouble(c);
    };
  }

  private static void legend(Graphics2D g, List<String> proxies) {
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
    int x = LEFT;
    for (int p = 0; p < proxies.size(); p++) {
      g.setColor(COLORS[p % COLORS.length]);
      g.fillRect(x, 40, 14, 12);
      g.setColor(Color.BLACK);
      g.drawString(proxies.get(p), x + 20, 51);
      x += 40 + g.getFontMetrics().stringWidth(proxies.get(p));
    }
  }

  /** One panel; each proxy keeps the colour of its place in {@code legend}. */
  private static void panel(Graphics2D g, List<String> legend, List<String> cases,
      List<String> proxies, int y0, String label, Figure value, boolean decimals) {
    int plotTop = y0 + 64;
    int plotBottom = y0 + PANEL_HEIGHT - 40;
    int plotWidth = WIDTH - LEFT - RIGHT;
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
    g.setColor(Color.BLACK);
    g.drawString(label, LEFT, y0 + 24);
    g.setFont(new Font(Font.SANS_SERIF, Font.ITALIC, 11));
    g.setColor(Color.DARK_GRAY);
    g.drawString("each group on its own scale, from zero to its largest figure; the labels are "
        + "the figures", LEFT, y0 + 40);
    g.setColor(Color.BLACK);
    g.drawLine(LEFT, plotBottom, WIDTH - RIGHT, plotBottom);
    if (cases.isEmpty()) {
      return;
    }
    double groupWidth = (double) plotWidth / cases.size();
    double barWidth = groupWidth * 0.8 / proxies.size();
    for (int c = 0; c < cases.size(); c++) {
      String name = cases.get(c);
      double top = 0;
      for (String p : proxies) {
        double v = value.of(p, name);
        if (!Double.isNaN(v)) {
          top = Math.max(top, v);
        }
      }
      double gx = LEFT + c * groupWidth + groupWidth * 0.1;
      if (c > 0) {
        g.setColor(new Color(0xe0e0e0));
        int sx = (int) Math.round(LEFT + c * groupWidth);
        g.drawLine(sx, plotTop - 10, sx, plotBottom);
      }
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
      g.setColor(Color.BLACK);
      FontMetrics fm = g.getFontMetrics();
      int cut = name.lastIndexOf(' ');
      if (fm.stringWidth(name) > groupWidth * 0.95 && cut > 0) {
        // Too wide for its group (many cases, e.g. with TLS variants): two lines.
        String head = name.substring(0, cut);
        String tail = name.substring(cut + 1);
        g.drawString(head, (int) (gx + groupWidth * 0.4 - fm.stringWidth(head) / 2.0),
            plotBottom + 18);
        g.drawString(tail, (int) (gx + groupWidth * 0.4 - fm.stringWidth(tail) / 2.0),
            plotBottom + 32);
      } else {
        g.drawString(name, (int) (gx + groupWidth * 0.4 - fm.stringWidth(name) / 2.0),
            plotBottom + 18);
      }
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
      FontMetrics small = g.getFontMetrics();
      for (int p = 0; p < proxies.size(); p++) {
        double v = value.of(proxies.get(p), name);
        int x = (int) Math.round(gx + p * barWidth);
        int w = Math.max(1, (int) Math.round(barWidth) - 2);
        if (Double.isNaN(v) || top == 0) {
          g.setColor(Color.GRAY);
          g.drawString("n/a", x + (w - small.stringWidth("n/a")) / 2, plotBottom - 4);
          continue;
        }
        int h = (int) Math.round((plotBottom - plotTop) * (v / top));
        g.setColor(COLORS[legend.indexOf(proxies.get(p)) % COLORS.length]);
        g.fillRect(x, plotBottom - h, w, h);
        g.setColor(Color.BLACK);
        String text = format(v, decimals);
        g.drawString(text, x + (w - small.stringWidth(text)) / 2, plotBottom - h - 3);
      }
    }
  }

  private static String format(double v, boolean decimals) {
    if (decimals) {
      return String.format(Locale.ROOT, v < 10 ? "%.2f" : "%.1f", v);
    }
    if (v >= 1_000_000) {
      return String.format(Locale.ROOT, "%.2fM", v / 1_000_000);
    }
    return v >= 1_000 ? String.format(Locale.ROOT, "%.0fk", v / 1_000)
        : String.format(Locale.ROOT, "%.0f", v);
  }
}
