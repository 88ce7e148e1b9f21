package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import walnut.testing.FreePorts;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * {@code --slowlog-threshold 50} against a server stopped with SIGSTOP, through the packaged
 * launcher and its log file: one line per slow request up to {@code --slowlog-rate}, each naming
 * pool, server, command, key, latency and sizes; the lines left out reported by the next line
 * logged; {@code walnut_slow_requests_total} counting every one; fast requests neither logged nor
 * counted. The server's key is found with the live proxy's {@code /locate}.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@SingleTransport
class SlowLogIT {

  private static final Pattern LINE = Pattern.compile("slow request: pool 'alpha' server"
      + " 'victim' command get key '(slow:\\d+)' (\\d+\\.\\d) ms, request (\\d+) bytes, reply"
      + " (\\d+) bytes(?: \\((\\d+) more slow requests were not logged before this one:"
      + " --slowlog-rate\\))?");

  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void aStoppedServersRequestsAreLoggedUpToTheRateAndAllCounted(@TempDir Path dir)
      throws Exception {
    try (RedisServer victim = RedisServer.start(); RedisServer other = RedisServer.start()) {
      int port = FreePorts.next();
      int metrics = FreePorts.next();
      Path conf = dir.resolve("nutcracker.yml");
      Files.writeString(conf, "alpha:\n  listen: 127.0.0.1:" + port + "\n  redis: true\n"
          + "  servers:\n   - 127.0.0.1:" + victim.port() + ":1 victim\n"
          + "   - 127.0.0.1:" + other.port() + ":1 other\n");
      try (WalnutProcess walnut = WalnutProcess.foreground(dir, "-c", conf.toString(), "-s",
          Integer.toString(FreePorts.next()), "--metrics-port", Integer.toString(metrics),
          "--threads", "1", "--slowlog-threshold", "50", "--slowlog-rate", "5");
          Socket client = new Socket("127.0.0.1", port)) {
        client.setSoTimeout(30_000);
        String key = keyOn("victim", metrics);
        roundTrips(client, key, 20); // connected, and fast: neither logged nor counted
        assertEquals(0, slowCount(metrics));

        victim.pause();
        long stopped = System.nanoTime();
        send(client, key, 20);
        Poll.until(Duration.ofSeconds(5), () -> System.nanoTime() - stopped > 80_000_000L,
            "80 ms to pass with the server stopped");
        victim.resume();
        read(client, 20);

        Poll.until(Duration.ofSeconds(10), () -> slowCount(metrics) == 20,
            () -> "all 20 counted; now " + slowCount(metrics));
        List<Matcher> lines = lines(walnut);
        assertTrue(lines.size() == 5 || lines.size() == 6, "a second's worth of lines (5), one"
            + " more if the replies took 200 ms: " + walnut.log());
        for (Matcher m : lines) {
          assertEquals(key, m.group(1));
          assertTrue(Double.parseDouble(m.group(2)) >= 50, m.group());
          assertEquals(("*2\r\n$3\r\nGET\r\n$" + key.length() + "\r\n" + key + "\r\n").length(),
              Integer.parseInt(m.group(3)), m.group());
          assertEquals(5, Integer.parseInt(m.group(4)), "$-1\\r\\n: " + m.group());
          assertEquals(null, m.group(5), "nothing was left out before these");
        }
        int firstBurst = lines.size();

        victim.pause(); // one more slow request once a line is free again: it tells the rest
        long again = System.nanoTime();
        send(client, key, 1);
        Poll.until(Duration.ofSeconds(5), () -> System.nanoTime() - again > 250_000_000L,
            "a token back (5 a second) and the request slow");
        victim.resume();
        read(client, 1);
        Poll.until(Duration.ofSeconds(10), () -> lines(walnut).size() == firstBurst + 1,
            walnut::log);
        Matcher last = lines(walnut).get(firstBurst);
        assertEquals(20 - firstBurst, Integer.parseInt(last.group(5)), last.group());
        assertEquals(21, slowCount(metrics), "the counter matches the lines and those left out");
      }
    }
  }

  private static List<Matcher> lines(WalnutProcess walnut) {
    return walnut.log().lines().filter(l -> l.contains("slow request:")).map(l -> {
      Matcher m = LINE.matcher(l);
      assertTrue(m.find(), "a slow-log line as documented: " + l);
      return m;
    }).toList();
  }

  /** A key the live proxy sends to {@code server}, found with {@code /locate}. */
  private String keyOn(String server, int metrics) throws Exception {
    for (int i = 0; i < 1000; i++) {
      String key = "slow:" + i;
      String json = get(metrics, "/locate?pool=alpha&key=" + URLEncoder.encode(key,
          StandardCharsets.UTF_8));
      if (json.contains("\"server\":\"" + server + "\"")) {
        return key;
      }
    }
    throw new AssertionError("no key on " + server);
  }

  private long slowCount(int metrics) {
    try {
      String text = get(metrics, "/metrics");
      return (long) PrometheusText.parse(text).get("walnut_slow_requests_total")
          .value("walnut_slow_requests_total", "pool", "alpha");
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private String get(int port, String path) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + port + path)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), path + ": " + r.body());
    return r.body();
  }

  private static void roundTrips(Socket client, String key, int n) throws IOException {
    send(client, key, n);
    read(client, n);
  }

  private static void send(Socket client, String key, int n) throws IOException {
    OutputStream out = client.getOutputStream();
    String get = "*2\r\n$3\r\nGET\r\n$" + key.length() + "\r\n" + key + "\r\n";
    out.write(get.repeat(n).getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  /** Reads {@code n} nil replies ({@code $-1}: the key was never set). */
  private static void read(Socket client, int n) throws IOException {
    InputStream in = client.getInputStream();
    byte[] want = "$-1\r\n".repeat(n).getBytes(StandardCharsets.US_ASCII);
    byte[] got = in.readNBytes(want.length);
    assertEquals(new String(want, StandardCharsets.US_ASCII),
        new String(got, StandardCharsets.US_ASCII));
  }
}
