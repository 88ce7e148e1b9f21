package walnut.server;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * A strict parser of Prometheus' text exposition format 0.0.4, as the Prometheus server reads it
 * (no Java parser of the format is served here; the client library only writes it). It rejects
 * what Prometheus rejects or what would make a scrape ambiguous: a malformed line, name or label,
 * an unknown escape, a value that is not a float, a TYPE after its family's samples or given twice,
 * a family whose samples are not contiguous, a duplicate series, a sample name that does not
 * belong to its family's type; and for histograms, buckets without {@code le}, not cumulative,
 * without {@code +Inf}, or whose {@code +Inf} differs from {@code _count}.
 */
final class PrometheusText {

  private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
  private static final Set<String> TYPES =
      Set.of("counter", "gauge", "histogram", "summary", "untyped");

  record Sample(String name, Map<String, String> labels, double value) {}

  /** A metric family: its name (as in TYPE), type, help and samples in order. */
  record Family(String name, String type, String help, List<Sample> samples) {

    /** The value of the one sample named {@code sampleName} with exactly these labels. */
    double value(String sampleName, String... labelPairs) {
      Map<String, String> want = new TreeMap<>();
      for (int i = 0; i < labelPairs.length; i += 2) {
        want.put(labelPairs[i], labelPairs[i + 1]);
      }
      for (Sample s : samples) {
        if (s.name().equals(sampleName) && s.labels().equals(want)) {
          return s.value();
        }
      }
      throw new AssertionError("no sample " + sampleName + want + " in " + name);
    }
  }

  static final class ParseException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ParseException(int line, String message) {
      super("line " + line + ": " + message);
    }
  }

  private PrometheusText() {}

  /** Parses {@code text}; families by name, in the order they appear. */
  static Map<String, Family> parse(String text) {
    if (!text.isEmpty() && !text.endsWith("\n")) {
      throw new ParseException(0, "the exposition does not end with a newline");
    }
    Map<String, Family> families = new LinkedHashMap<>();
    Map<String, String> types = new LinkedHashMap<>();
    Map<String, String> helps = new LinkedHashMap<>();
    Set<String> seriesSeen = new java.util.HashSet<>();
    String current = null;
    String[] lines = text.split("\n", -1);
    for (int n = 0; n < lines.length - 1; n++) {
      String line = lines[n];
      int lineNo = n + 1;
      if (line.isEmpty()) {
        continue;
      }
      if (line.startsWith("#")) {
        String[] parts = line.split(" ", 4);
        if (parts.length >= 3 && (parts[1].equals("HELP") || parts[1].equals("TYPE"))) {
          String name = parts[2];
          checkName(lineNo, name);
          if (families.containsKey(name)) {
            throw new ParseException(lineNo, parts[1] + " for " + name + " after its samples");
          }
          if (parts[1].equals("TYPE")) {
            String type = parts.length == 4 ? parts[3] : "";
            if (!TYPES.contains(type)) {
              throw new ParseException(lineNo, "unknown type '" + type + "'");
            }
            if (types.put(name, type) != null) {
              throw new ParseException(lineNo, "second TYPE for " + name);
            }
          } else if (helps.put(name, parts.length == 4 ? unescapeHelp(lineNo, parts[3]) : "")
              != null) {
            throw new ParseException(lineNo, "second HELP for " + name);
          }
        }
        continue; // any other comment
      }
      Sample sample = sample(lineNo, line);
      String family = familyOf(sample.name(), types);
      if (!family.equals(current)) {
        if (families.containsKey(family)) {
          throw new ParseException(lineNo, "samples of " + family + " are not contiguous");
        }
        families.put(family, new Family(family, types.getOrDefault(family, "untyped"),
            helps.get(family), new ArrayList<>()));
        current = family;
      }
      if (!seriesSeen.add(sample.name() + sample.labels())) {
        throw new ParseException(lineNo, "duplicate series " + sample.name() + sample.labels());
      }
      families.get(family).samples().add(sample);
    }
    for (Family f : families.values()) {
      if (f.type().equals("histogram")) {
        checkHistogram(f);
      }
    }
    return families;
  }

  /** The family a sample name belongs to: itself, or its name less a type's suffix. */
  private static String familyOf(String sample, Map<String, String> types) {
    if (types.containsKey(sample)) {
      String type = types.get(sample);
      if (type.equals("histogram") || type.equals("summary")) {
        throw new ParseException(0, "sample " + sample + " named as its " + type + " family");
      }
      return sample;
    }
    for (String suffix : new String[] {"_bucket", "_sum", "_count"}) {
      if (sample.endsWith(suffix)) {
        String base = sample.substring(0, sample.length() - suffix.length());
        String type = types.get(base);
        if ("histogram".equals(type) || ("summary".equals(type) && !suffix.equals("_bucket"))) {
          return base;
        }
      }
    }
    return sample;
  }

  private static Sample sample(int lineNo, String line) {
    int i = 0;
    while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
      i++;
    }
    String name = line.substring(0, i);
    checkName(lineNo, name);
    Map<String, String> labels = new TreeMap<>();
    if (i < line.length() && line.charAt(i) == '{') {
      i++;
      while (line.charAt(i) != '}') {
        int eq = line.indexOf('=', i);
        if (eq < 0) {
          throw new ParseException(lineNo, "label without '='");
        }
        String label = line.substring(i, eq);
        if (!LABEL_NAME.matcher(label).matches() || label.startsWith("__")) {
          throw new ParseException(lineNo, "bad label name '" + label + "'");
        }
        if (eq + 1 >= line.length() || line.charAt(eq + 1) != '"') {
          throw new ParseException(lineNo, "label value not quoted");
        }
        StringBuilder value = new StringBuilder();
        int j = eq + 2;
        for (;; j++) {
          if (j >= line.length()) {
            throw new ParseException(lineNo, "unterminated label value");
          }
          char c = line.charAt(j);
          if (c == '"') {
            break;
          }
          if (c == '\\') {
            char e = line.charAt(++j);
            switch (e) {
              case '\\' -> value.append('\\');
              case '"' -> value.append('"');
              case 'n' -> value.append('\n');
              default -> throw new ParseException(lineNo, "bad escape \\" + e);
            }
          } else {
            value.append(c);
          }
        }
        if (labels.put(label, value.toString()) != null) {
          throw new ParseException(lineNo, "label " + label + " twice");
        }
        i = j + 1;
        if (line.charAt(i) == ',') {
          i++;
        } else if (line.charAt(i) != '}') {
          throw new ParseException(lineNo, "expected ',' or '}' after a label");
        }
      }
      i++;
    }
    if (i >= line.length() || line.charAt(i) != ' ') {
      throw new ParseException(lineNo, "expected a space before the value");
    }
    String[] rest = line.substring(i + 1).split(" ", -1);
    if (rest.length > 2 || rest[0].isEmpty()) {
      throw new ParseException(lineNo, "expected a value and an optional timestamp");
    }
    if (rest.length == 2 && !rest[1].matches("-?\\d+")) {
      throw new ParseException(lineNo, "bad timestamp '" + rest[1] + "'");
    }
    return new Sample(name, labels, value(lineNo, rest[0]));
  }

  private static double value(int lineNo, String text) {
    switch (text) {
      case "+Inf":
        return Double.POSITIVE_INFINITY;
      case "-Inf":
        return Double.NEGATIVE_INFINITY;
      case "NaN":
        return Double.NaN;
      default:
        if (!text.matches("[-+]?(\\d+\\.?\\d*|\\.\\d+)([eE][-+]?\\d+)?")) {
          throw new ParseException(lineNo, "bad value '" + text + "'");
        }
        return Double.parseDouble(text);
    }
  }

  private static void checkHistogram(Family f) {
    Map<Map<String, String>, List<Sample>> buckets = new LinkedHashMap<>();
    Map<Map<String, String>, Double> counts = new LinkedHashMap<>();
    Set<Map<String, String>> sums = new java.util.HashSet<>();
    for (Sample s : f.samples()) {
      if (s.name().equals(f.name() + "_bucket")) {
        if (!s.labels().containsKey("le")) {
          throw new ParseException(0, f.name() + ": bucket without le");
        }
        Map<String, String> series = new TreeMap<>(s.labels());
        series.remove("le");
        buckets.computeIfAbsent(series, k -> new ArrayList<>()).add(s);
      } else if (s.name().equals(f.name() + "_count")) {
        counts.put(s.labels(), s.value());
      } else if (s.name().equals(f.name() + "_sum")) {
        sums.add(s.labels());
      } else {
        throw new ParseException(0, f.name() + ": sample " + s.name() + " in a histogram");
      }
    }
    for (var e : buckets.entrySet()) {
      double previousBound = Double.NEGATIVE_INFINITY;
      double previousCount = 0;
      for (Sample b : e.getValue()) {
        double bound = value(0, b.labels().get("le"));
        if (bound <= previousBound) {
          throw new ParseException(0, f.name() + e.getKey() + ": buckets out of order");
        }
        if (b.value() < previousCount) {
          throw new ParseException(0, f.name() + e.getKey() + ": buckets not cumulative");
        }
        previousBound = bound;
        previousCount = b.value();
      }
      if (previousBound != Double.POSITIVE_INFINITY) {
        throw new ParseException(0, f.name() + e.getKey() + ": no +Inf bucket");
      }
      Double count = counts.get(e.getKey());
      if (count == null || count != previousCount || !sums.contains(e.getKey())) {
        throw new ParseException(0, f.name() + e.getKey() + ": _count and _sum must match +Inf");
      }
    }
  }

  private static void checkName(int lineNo, String name) {
    if (!METRIC_NAME.matcher(name).matches()) {
      throw new ParseException(lineNo, "bad metric name '" + name + "'");
    }
  }

  private static String unescapeHelp(int lineNo, String text) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '\\') {
        char e = text.charAt(++i);
        switch (e) {
          case '\\' -> out.append('\\');
          case 'n' -> out.append('\n');
          default -> throw new ParseException(lineNo, "bad escape in HELP \\" + e);
        }
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
