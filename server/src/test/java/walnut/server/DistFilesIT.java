package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import redis.clients.jedis.Jedis;
import walnut.testing.FreePorts;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SentinelTopology;
import walnut.testing.SingleTransport;
import walnut.testing.TestPki;

/**
 * The monitoring files of {@code dist/} against the proxy they describe: the alert rules pass
 * {@code promtool check rules} and their unit tests ({@code promtool test rules}), the Grafana
 * dashboard's queries are PromQL that promtool accepts, and every {@code walnut_*} series either
 * file names — with every label it filters or groups by — is in a scrape of a Walnut that has
 * each feature on (health checks, a TLS listener, Sentinel, {@code --command-metrics},
 * {@code --slowlog-threshold}). A metric renamed in the collector fails here until both files
 * follow.
 *
 * <p>Names are compared as Prometheus stores them, sample by sample: a counter as {@code
 * *_total}, a histogram as its {@code _bucket}, {@code _sum} and {@code _count} series.
 * {@code promtool} must be on the PATH (Debian's {@code prometheus} package): without it the test
 * fails rather than skips, since the rules would go unchecked.
 */
@SingleTransport
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DistFilesIT {

  private static final Path DIST = Path.of(System.getProperty("walnut.root", ".."))
      .toAbsolutePath().normalize().resolve("dist");
  private static final Path RULES = DIST.resolve("walnut-alerts.yml");
  private static final Path RULE_TESTS = DIST.resolve("walnut-alerts.test.yml");
  private static final Path DASHBOARD = DIST.resolve("grafana-walnut.json");

  /** Labels Prometheus adds to every scraped series: not in a scrape, always in the store. */
  private static final Set<String> TARGET_LABELS = Set.of("instance", "job");

  private static final Pattern QUOTED = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
  private static final Pattern NAME = Pattern.compile("(?<![A-Za-z0-9_:])walnut_[A-Za-z0-9_:]*");
  private static final Pattern SELECTOR =
      Pattern.compile("(?<![A-Za-z0-9_:])(walnut_[A-Za-z0-9_:]*)\\s*\\{([^}]*)}");
  private static final Pattern MATCHER =
      Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)\\s*(?:=~|!~|!=|=)");
  private static final Pattern BY = Pattern.compile("\\bby\\s*\\(([^)]*)\\)");
  private static final Pattern LABEL_VALUES =
      Pattern.compile("label_values\\(\\s*(walnut_[A-Za-z0-9_:]*)[^,]*,\\s*(\\w+)\\s*\\)");
  private static final Pattern GRAFANA_RANGE = Pattern.compile("\\$__\\w+");

  /** A PromQL expression (or Grafana variable query) and where it is, for failure messages. */
  record Query(String where, String expr) {}

  @TempDir
  Path tmp;

  @Test
  void theAlertRulesPassPromtoolAndTheirUnitTests() throws Exception {
    Run check = promtool(DIST, "check", "rules", RULES.toString());
    assertEquals(0, check.exit(), "promtool check rules " + RULES + ":\n" + check.output());
    Run unit = promtool(DIST, "test", "rules", RULE_TESTS.toString());
    assertEquals(0, unit.exit(), "promtool test rules " + RULE_TESTS + ":\n" + unit.output());

    // What promtool leaves to taste: each alert routes by severity and explains itself.
    for (Map<String, Object> rule : rules()) {
      String alert = String.valueOf(rule.get("alert"));
      assertTrue(rule.containsKey("alert"), "a recording rule in " + RULES + ": " + rule);
      Map<?, ?> labels = assertInstanceOf(Map.class, rule.get("labels"), alert + ": labels");
      assertTrue(Set.of("critical", "warning", "info").contains(labels.get("severity")),
          alert + ": severity " + labels.get("severity"));
      Map<?, ?> notes = assertInstanceOf(Map.class, rule.get("annotations"), alert);
      assertTrue(notes.get("summary") instanceof String, alert + ": annotations.summary");
      assertTrue(notes.get("description") instanceof String, alert + ": annotations.description");
    }
  }

  @Test
  void theDashboardImportsAndItsQueriesAreValidPromql() throws Exception {
    Map<String, Object> dashboard = dashboard();
    assertEquals(39, ((Number) dashboard.get("schemaVersion")).intValue(), "schemaVersion");
    Map<?, ?> templating = assertInstanceOf(Map.class, dashboard.get("templating"));
    List<String> variables = ((List<?>) templating.get("list")).stream()
        .map(v -> (String) ((Map<?, ?>) v).get("name")).toList();
    assertEquals(List.of("DS_PROMETHEUS", "instance", "pool", "server"), variables);
    List<Map<?, ?>> panels = new ArrayList<>();
    panels(dashboard.get("panels"), panels);
    Set<Object> ids = new HashSet<>();
    for (Map<?, ?> panel : panels) {
      assertTrue(ids.add(panel.get("id")), "panel id " + panel.get("id") + " twice");
      if (!"row".equals(panel.get("type"))) {
        assertEquals("${DS_PROMETHEUS}", ((Map<?, ?>) panel.get("datasource")).get("uid"),
            "data source of '" + panel.get("title") + "'");
      }
    }

    // promtool parses PromQL only in rule files: each query becomes a recording rule, with
    // Grafana's range variables ($__rate_interval) as a duration; $pool in a matcher is a string.
    List<Query> queries = dashboardQueries(dashboard, false);
    assertTrue(queries.size() > 20, "queries found: " + queries);
    StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
    for (int i = 0; i < queries.size(); i++) {
      String expr = GRAFANA_RANGE.matcher(queries.get(i).expr()).replaceAll("5m");
      rules.append("      - record: dashboard:query_").append(i).append("\n        expr: \"")
          .append(expr.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " "))
          .append("\"\n");
    }
    Path file = tmp.resolve("dashboard-queries.yml");
    Files.writeString(file, rules);
    Run check = promtool(tmp, "check", "rules", file.toString());
    assertEquals(0, check.exit(), "the queries of " + DASHBOARD + " as rules:\n"
        + check.output() + "\n" + numbered(queries));
  }

  @Test
  void everyMetricTheDashboardAndTheAlertsUseIsScraped() throws Exception {
    List<Query> queries = new ArrayList<>(dashboardQueries(dashboard(), true));
    for (Map<String, Object> rule : rules()) {
      queries.add(new Query(RULES.getFileName() + ": " + rule.get("alert"),
          String.valueOf(rule.get("expr"))));
    }
    Map<String, Set<String>> used = names(queries);
    assertTrue(used.containsKey("walnut_config_last_reload_successful")
        && used.containsKey("walnut_pool_request_duration_seconds_bucket"), used.keySet()
        + ": the names found in the files");

    TestPki pki = TestPki.shared();
    try (RedisServer r1 = RedisServer.start(); RedisServer r2 = RedisServer.start();
        SentinelTopology sentinel = SentinelTopology.start(1, null)) {
      String shard = sentinel.shards().get(0);
      StringBuilder sigma = new StringBuilder("sigma:\n  listen: 127.0.0.1:")
          .append(FreePorts.next()).append("\n  redis: true\n  servers:\n    - ")
          .append(address(sentinel.masterAddress(shard))).append(":1 ").append(shard)
          .append("\n  sentinels:\n");
      for (int i = 0; i < SentinelTopology.SENTINELS; i++) {
        sigma.append("    - ").append(address(sentinel.sentinelAddress(i))).append(":1\n");
      }
      TlsRig.Pool alpha = new TlsRig.Pool("alpha", true).key("auto_eject_hosts", true)
          .key("health_check_interval", 100).server(r1, "r1").server(r2, "r2");
      TlsRig.Pool secure = new TlsRig.Pool("secure", true)
          .listenerTls(pki.server(), pki.server().key()).server(r1, "r1");
      Path conf = tmp.resolve("nutcracker.yml");
      Files.writeString(conf, TlsRig.yaml(alpha, secure) + sigma);

      try (OpsFixture walnut = OpsFixture.startWith(conf, 1, "--command-metrics",
          "--slowlog-threshold", "50")) {
        try (Jedis jedis = new Jedis("127.0.0.1", walnut.port("alpha"), 30_000)) {
          for (int i = 0; i < 20; i++) {
            assertEquals("OK", jedis.set(i + ":dist", "v"));
            assertEquals("v", jedis.get(i + ":dist"));
          }
          // Over the 50 ms threshold: a script that keeps the server busy for 100 ms.
          assertEquals(1L, jedis.eval("local t0 = redis.call('TIME')\n"
              + "repeat local t = redis.call('TIME')\n"
              + "until (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) >= 100000\n"
              + "return 1", 1, "slow:dist"));
        }
        AtomicReference<Map<String, Set<String>>> scraped = new AtomicReference<>();
        AtomicReference<List<String>> problems = new AtomicReference<>();
        // Counters may reach the scrape a moment after the reply: poll, then report.
        Poll.within(Duration.ofSeconds(10), () -> {
          scraped.set(labelsBySample(MetricsIT.scrape(walnut.metricsPort())));
          problems.set(problems(queries, used, scraped.get()));
          return problems.get().isEmpty();
        });
        assertTrue(problems.get().isEmpty(), () -> "what the dashboard or the alerts use that"
            + " Walnut does not export:\n  " + String.join("\n  ", problems.get())
            + "\nWalnut exports: " + scraped.get().keySet());
      }
    }
  }

  /**
   * What {@code queries} need that the scrape lacks: names that are no sample of it, labels a
   * selector or a {@code by} clause uses that no such sample has.
   */
  private static List<String> problems(List<Query> queries, Map<String, Set<String>> used,
      Map<String, Set<String>> scraped) {
    List<String> problems = new ArrayList<>();
    used.forEach((name, where) -> {
      if (!scraped.containsKey(name)) {
        String family = family(name);
        problems.add(name + (family.equals(name) ? "" : " (histogram " + family + ")")
            + ", used by " + where);
      }
    });
    for (Query q : queries) {
      String expr = QUOTED.matcher(q.expr()).replaceAll("\"\"");
      Set<String> labelsOfExpr = new TreeSet<>(TARGET_LABELS);
      labelsOfExpr.add("le");
      boolean allScraped = true;
      Matcher names = NAME.matcher(expr);
      while (names.find()) {
        allScraped &= scraped.containsKey(names.group());
        labelsOfExpr.addAll(scraped.getOrDefault(names.group(), Set.of()));
      }
      Matcher selector = SELECTOR.matcher(expr);
      while (selector.find()) {
        Matcher label = MATCHER.matcher(selector.group(2));
        while (label.find()) {
          Set<String> has = scraped.getOrDefault(selector.group(1), Set.of());
          if (scraped.containsKey(selector.group(1)) && !has.contains(label.group(1))
              && !TARGET_LABELS.contains(label.group(1))) {
            problems.add(q.where() + ": " + selector.group(1) + " has no label "
                + label.group(1) + " (it has " + has + ")");
          }
        }
      }
      Matcher by = BY.matcher(expr);
      while (allScraped && by.find()) { // a missing name is reported once, above
        for (String label : by.group(1).split(",")) {
          if (!label.isBlank() && !labelsOfExpr.contains(label.strip())) {
            problems.add(q.where() + ": by (" + label.strip() + "), a label none of its"
                + " series has (they have " + labelsOfExpr + ")");
          }
        }
      }
      Matcher values = LABEL_VALUES.matcher(q.expr());
      while (values.find()) {
        Set<String> has = scraped.getOrDefault(values.group(1), Set.of());
        if (scraped.containsKey(values.group(1)) && !has.contains(values.group(2))
            && !TARGET_LABELS.contains(values.group(2))) {
          problems.add(q.where() + ": " + values.group(1) + " has no label " + values.group(2));
        }
      }
    }
    return problems;
  }

  /** Every {@code walnut_*} name in {@code queries} (outside quoted strings) → where it is. */
  private static Map<String, Set<String>> names(List<Query> queries) {
    Map<String, Set<String>> used = new TreeMap<>();
    for (Query q : queries) {
      Matcher m = NAME.matcher(QUOTED.matcher(q.expr()).replaceAll("\"\""));
      while (m.find()) {
        used.computeIfAbsent(m.group(), n -> new TreeSet<>()).add(q.where());
      }
    }
    return used;
  }

  /** The family a sample name would belong to as a histogram's series, for messages. */
  private static String family(String sample) {
    return sample.replaceFirst("_(bucket|sum|count)$", "");
  }

  /** Sample name → the label names its samples carry, from one scrape. */
  private static Map<String, Set<String>> labelsBySample(String text) {
    Map<String, Set<String>> labels = new TreeMap<>();
    for (PrometheusText.Family f : PrometheusText.parse(text).values()) {
      for (PrometheusText.Sample s : f.samples()) {
        labels.computeIfAbsent(s.name(), n -> new TreeSet<>()).addAll(s.labels().keySet());
      }
    }
    return labels;
  }

  /**
   * The dashboard's panel queries ({@code expr} of every target, rows' panels included) and,
   * with {@code variables}, its template variables' queries ({@code label_values(...)}).
   */
  private static List<Query> dashboardQueries(Map<String, Object> dashboard, boolean variables) {
    List<Map<?, ?>> panels = new ArrayList<>();
    panels(dashboard.get("panels"), panels);
    List<Query> queries = new ArrayList<>();
    String file = DASHBOARD.getFileName().toString();
    for (Map<?, ?> panel : panels) {
      Object targets = panel.get("targets");
      if (targets instanceof List<?> list) {
        for (Object target : list) {
          Object expr = ((Map<?, ?>) target).get("expr");
          if (expr instanceof String s) {
            queries.add(new Query(file + ": panel '" + panel.get("title") + "'", s));
          }
        }
      }
    }
    if (variables) {
      for (Object v : (List<?>) ((Map<?, ?>) dashboard.get("templating")).get("list")) {
        Map<?, ?> variable = (Map<?, ?>) v;
        if ("query".equals(variable.get("type"))) {
          Object query = variable.get("query");
          String text = query instanceof Map<?, ?> m ? (String) m.get("query") : (String) query;
          queries.add(new Query(file + ": variable '" + variable.get("name") + "'", text));
        }
      }
    }
    return queries;
  }

  /** Every panel of {@code list}, and of the collapsed rows' own lists. */
  private static void panels(Object list, List<Map<?, ?>> out) {
    for (Object p : (List<?>) list) {
      Map<?, ?> panel = (Map<?, ?>) p;
      out.add(panel);
      if (panel.get("panels") instanceof List<?> inner) {
        panels(inner, out);
      }
    }
  }

  /**
   * The dashboard, read by SnakeYAML (JSON is YAML, and SnakeYAML is already a dependency) with
   * duplicate keys refused, as Grafana's JSON parser would lose one of them.
   */
  @SuppressWarnings("unchecked")
  private static Map<String, Object> dashboard() throws IOException {
    String json = Files.readString(DASHBOARD);
    assertFalse(json.contains("\t"), DASHBOARD + ": a tab (JSON allows it, YAML does not)");
    return (Map<String, Object>) yaml().load(json);
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> rules() throws IOException {
    Map<String, Object> file = yaml().load(Files.readString(RULES));
    List<Map<String, Object>> rules = new ArrayList<>();
    for (Object group : (List<?>) file.get("groups")) {
      rules.addAll((List<Map<String, Object>>) ((Map<?, ?>) group).get("rules"));
    }
    return rules;
  }

  private static Yaml yaml() {
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    return new Yaml(new SafeConstructor(options));
  }

  private static String numbered(List<Query> queries) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < queries.size(); i++) {
      b.append("dashboard:query_").append(i).append(" = ").append(queries.get(i)).append('\n');
    }
    return b.toString();
  }

  private static String address(InetSocketAddress at) {
    return at.getHostString() + ":" + at.getPort();
  }

  record Run(int exit, String output) {}

  /** Runs {@code promtool args} in {@code dir} to its end (60 s at most), then stops it by pid. */
  private Run promtool(Path dir, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of(promtoolPath().toString()));
    command.addAll(List.of(args));
    Path out = Files.createTempFile(tmp, "promtool-", ".out");
    Process process = new ProcessBuilder(command).directory(dir.toFile())
        .redirectErrorStream(true).redirectOutput(out.toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    try {
      assertTrue(process.waitFor(60, TimeUnit.SECONDS), command + " did not finish in 60 s");
      return new Run(process.exitValue(), Files.readString(out));
    } finally {
      process.destroyForcibly(); // by its pid; nothing once it has exited
    }
  }

  private static Path promtoolPath() {
    String path = System.getenv().getOrDefault("PATH", "");
    for (String dir : path.split(File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, "promtool");
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    throw new AssertionError("promtool: not found on the PATH (" + path + "); it checks"
        + " dist/walnut-alerts.yml: install it (Debian, Ubuntu: apt-get install prometheus;"
        + " elsewhere the Prometheus release from https://prometheus.io/download/)");
  }
}
