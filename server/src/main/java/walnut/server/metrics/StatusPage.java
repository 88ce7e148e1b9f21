package walnut.server.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;
import walnut.core.config.PoolConfig;
import walnut.core.proxy.ProxyServer;
import walnut.core.proxy.ServerState;
import walnut.core.stats.Counters;
import walnut.core.stats.Events;
import walnut.core.stats.PinStat;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;
import walnut.core.stats.ServerStat;

/**
 * What the metrics port shows people besides {@code /metrics}: the status page at {@code /} (one
 * self-contained HTML file, {@code status.html}, which polls {@code status.json}), the document
 * it reads, and {@code /locate?pool=P&key=K}, where the live proxy sends a key now.
 *
 * <p>Everything is read from the running proxy when asked, on the metrics server's threads; the
 * request path is not touched. Thread-safe.
 */
final class StatusPage implements HttpHandler {

  private final ProxyServer proxy;
  private final WalnutCollector.BuildInfo build;
  private final ReloadHistory reloads;
  private final LatencyWindow latencies;
  private volatile byte[] page;

  StatusPage(ProxyServer proxy, WalnutCollector.BuildInfo build, ReloadHistory reloads,
      LatencyWindow latencies) {
    this.proxy = proxy;
    this.build = build;
    this.reloads = reloads;
    this.latencies = latencies;
  }

  /** The page, read from the classpath once. */
  private byte[] page() throws IOException {
    byte[] p = page;
    if (p == null) {
      try (InputStream in = StatusPage.class.getResourceAsStream("status.html")) {
        if (in == null) {
          throw new IOException("the status page (walnut/server/metrics/status.html) is missing"
              + " from the classpath");
        }
        page = p = in.readAllBytes();
      }
    }
    return p;
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      if (!method.equals("GET") && !method.equals("HEAD")) {
        send(exchange, 405, "text/plain", "only GET\n");
        return;
      }
      String path = exchange.getRequestURI().getPath();
      switch (path) {
        case "/", "/index.html" -> send(exchange, 200, "text/html; charset=utf-8", page());
        case "/status.json" -> send(exchange, 200, "application/json", status());
        case "/locate" -> locate(exchange);
        default -> send(exchange, 404, "text/plain", "not found: try /, /metrics,"
            + " /status.json or /locate?pool=P&key=K\n");
      }
    }
  }

  /** The status document (docs/observability.md#status-page). */
  String status() {
    long now = System.currentTimeMillis();
    ProxyStats stats = proxy.stats();
    ReloadHistory.Snapshot r = reloads.snapshot();
    Json j = new Json().open()
        .field("version", build.version()).field("transport", build.transport())
        .field("threads", build.threads()).field("now_ms", now)
        .field("start_ms", stats.startMillis())
        .open("connections").field("current", stats.currentConnections())
        .field("total", stats.totalConnections()).close()
        .open("reload").field("attempts", r.attempts()).field("failures", r.failures())
        .field("last_ok", r.lastSucceeded()).field("last_attempt_ms", r.lastAttemptMillis())
        .close()
        .array("pools");
    for (ProxyStats.Pool pool : stats.pools()) {
      PoolConfig config = poolConfig(pool.name());
      if (config != null) {
        pool(j, pool, config, now, stats.startMillis());
      }
    }
    j.end().array("events");
    for (Events.Event e : stats.events().newestFirst()) {
      j.open().field("at_ms", e.atMillis()).field("kind", e.kind().field())
          .field("pool", e.pool()).field("server", e.server()).field("text", e.text()).close();
    }
    return j.end().close().toString();
  }

  private PoolConfig poolConfig(String name) {
    for (PoolConfig pc : proxy.config().pools()) {
      if (pc.name().equals(name)) {
        return pc;
      }
    }
    return null; // a reload is removing it
  }

  private void pool(Json j, ProxyStats.Pool pool, PoolConfig config, long now, long start) {
    List<ServerState> states;
    try {
      states = proxy.serverStates(pool.name());
    } catch (IllegalArgumentException e) {
      return; // removed by a reload since the stats were read
    }
    long requests = 0;
    long errors = pool.counters().get(PoolStat.FORWARD_ERROR);
    for (ProxyStats.Server s : pool.servers()) {
      requests += s.counters().get(ServerStat.REQUESTS);
      errors += s.counters().get(ServerStat.SERVER_ERR) + s.counters().get(ServerStat.SERVER_TIMEDOUT);
    }
    j.open().field("name", pool.name()).field("listen", config.listen().toString())
        .field("protocol", config.redis() ? "redis" : "memcache")
        .field("hash", config.hash()).field("distribution", config.distribution())
        .field("hash_tag", config.hashTag()).field("auto_eject_hosts", config.autoEjectHosts())
        .field("client_connections", pool.counters().get(PoolStat.CLIENT_CONNECTIONS))
        .field("requests", requests).field("errors", errors)
        .field("server_ejects", pool.counters().get(PoolStat.SERVER_EJECTS));
    latency(j, latencies.window(pool, now, start));
    j.array("servers");
    for (ServerState state : states) {
      ProxyStats.Server s = pool.server(state.name());
      j.open().field("name", state.name()).field("address", state.address())
          .field("state", state.state().field()).field("reason", state.reason());
      if (state.state() == ServerState.State.EJECTED) {
        j.field("returns_in_ms", Math.max(0, state.returnsAtMillis() - now));
      } else {
        j.nullField("returns_in_ms");
      }
      if (s == null) { // a reload is changing the pool: its counters are not there yet
        s = new ProxyStats.Server(state.name(), new Counters<>(ServerStat.class));
      }
      j.field("connections", s.counters().get(ServerStat.SERVER_CONNECTIONS))
          .field("requests", s.counters().get(ServerStat.REQUESTS))
          .field("responses", s.counters().get(ServerStat.RESPONSES))
          .field("errors", s.counters().get(ServerStat.SERVER_ERR)
              + s.counters().get(ServerStat.SERVER_TIMEDOUT))
          .field("eof", s.counters().get(ServerStat.SERVER_EOF))
          .field("in_queue", s.counters().get(ServerStat.IN_QUEUE))
          .field("out_queue", s.counters().get(ServerStat.OUT_QUEUE))
          .field("pinned", s.pinned().get(PinStat.PINNED_CONNECTIONS));
      j.close();
    }
    j.end().close();
  }

  private static void latency(Json j, LatencyWindow.Window w) {
    Histogram h = w.micros();
    long count = h.getTotalCount();
    j.open("latency").field("window_s", w.seconds()).field("count", count);
    for (String[] p : new String[][] {{"p50", "50"}, {"p90", "90"}, {"p99", "99"},
        {"p999", "99.9"}}) {
      if (count == 0) {
        j.nullField(p[0]);
      } else {
        j.field(p[0], h.getValueAtPercentile(Double.parseDouble(p[1])) / 1000.0);
      }
    }
    if (count == 0) {
      j.nullField("max");
    } else {
      j.field("max", h.getMaxValue() / 1000.0);
    }
    j.close();
  }

  private void locate(HttpExchange exchange) throws IOException {
    Map<String, List<String>> query = query(exchange.getRequestURI().getRawQuery());
    List<String> pools = query.getOrDefault("pool", List.of());
    List<byte[]> keys = rawValues(exchange.getRequestURI().getRawQuery(), "key");
    if (pools.size() != 1 || keys.isEmpty()) {
      send(exchange, 400, "application/json", new Json().open().field("error",
          "give one pool and at least one key: /locate?pool=P&key=K").close().toString());
      return;
    }
    String pool = pools.get(0);
    PoolConfig config = poolConfig(pool);
    try {
      if (config == null) {
        throw new IllegalArgumentException("no pool named '" + pool + "'");
      }
      boolean random = config.distribution().equals("random") && config.servers().size() > 1;
      Json j = new Json().open().field("pool", pool);
      if (keys.size() > 1) {
        j.array("keys");
      }
      for (byte[] key : keys) {
        if (keys.size() > 1) {
          j.open();
        }
        j.field("key", new String(key, StandardCharsets.UTF_8));
        ServerState s = random ? null : proxy.locate(pool, key);
        if (random) {
          j.field("server", "*").field("address", "*").field("index", -1).nullField("state")
              .field("random", true);
        } else if (s == null) {
          j.nullField("server").nullField("address").field("index", -1).nullField("state");
        } else {
          j.field("server", s.name()).field("address", s.address()).field("index", s.index())
              .field("state", s.state().field());
        }
        if (keys.size() > 1) {
          j.close();
        }
      }
      if (keys.size() > 1) {
        j.end();
      }
      send(exchange, 200, "application/json", j.close().toString());
    } catch (IllegalArgumentException e) { // unknown, or removed by a reload meanwhile
      send(exchange, 404, "application/json", new Json().open().field("error", e.getMessage())
          .close().toString());
    }
  }

  /**
   * The values of parameter {@code name} as bytes: a key is bytes, so {@code %80} is the byte
   * 0x80 (not the replacement character a text decoding would make of it); '+' is a space.
   */
  static List<byte[]> rawValues(String raw, String name) {
    List<byte[]> out = new ArrayList<>();
    if (raw == null) {
      return out;
    }
    for (String pair : raw.split("&")) {
      int eq = pair.indexOf('=');
      if (eq >= 0 && decode(pair.substring(0, eq)).equals(name)) {
        out.add(percentDecode(pair.substring(eq + 1)));
      }
    }
    return out;
  }

  private static byte[] percentDecode(String s) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      int hi = i + 2 < s.length() ? Character.digit(s.charAt(i + 1), 16) : -1;
      int lo = i + 2 < s.length() ? Character.digit(s.charAt(i + 2), 16) : -1;
      if (c == '%' && hi >= 0 && lo >= 0) {
        out.write(hi << 4 | lo);
        i += 2;
      } else if (c == '+') {
        out.write(' ');
      } else if (c <= 0xff) {
        out.write(c); // a byte sent unencoded (curl's 'clé'): the server read the line as Latin-1
      } else {
        byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8); // not from a byte
        out.write(b, 0, b.length);
      }
    }
    return out.toByteArray();
  }

  /** The query's parameters, each name's values in order (form encoding: '+' is a space). */
  static Map<String, List<String>> query(String raw) {
    Map<String, List<String>> out = new java.util.LinkedHashMap<>();
    if (raw == null || raw.isEmpty()) {
      return out;
    }
    for (String pair : raw.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = decode(eq < 0 ? pair : pair.substring(0, eq));
      String value = eq < 0 ? "" : decode(pair.substring(eq + 1));
      out.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
    }
    return out;
  }

  private static String decode(String s) {
    try {
      return URLDecoder.decode(s, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return s; // a stray '%': taken as written
    }
  }

  private static void send(HttpExchange exchange, int status, String type, String body)
      throws IOException {
    if (type.equals("application/json")) {
      body += "\n";
      type = "application/json; charset=utf-8";
    } else if (type.equals("text/plain")) {
      type = "text/plain; charset=utf-8";
    }
    send(exchange, status, type, body.getBytes(StandardCharsets.UTF_8));
  }

  private static void send(HttpExchange exchange, int status, String type, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : body.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }
}
