package walnut.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * A headless Chromium driven over the Chrome DevTools Protocol, for tests of the pages Walnut
 * serves: open a URL, evaluate JavaScript in it, emulate a viewport, take a screenshot.
 *
 * <p>Contract: {@link #start(Path)} runs Debian's {@code chromium} (found on the PATH, as {@code
 * bin/test} installs it) with a fresh profile under the directory it is given, and returns once
 * one page target is connected. Everything the browser writes (profile, crash database, its
 * output in {@code chromium.log}) stays in that directory, which the caller owns and deletes; the
 * browser's HOME and TMPDIR point there too, so nothing lands in the user's home or in /tmp.
 * The flags keep it off the network (no background requests, sync, component updates or QUIC:
 * this machine refuses them) and let it run as root ({@code --no-sandbox}). {@link #close()} stops the browser by its pid and
 * its descendants by theirs; a JVM shutdown hook kills a browser a test forgot to close.
 *
 * <p>The protocol is spoken with the JDK's own {@link HttpClient} and {@link WebSocket}, so the
 * testing module gains no dependency; replies are read by {@link CdpJson}. Methods block the
 * calling thread until the browser answers (at most {@link #TIMEOUT}) and are meant for one test
 * thread; {@link #close()} may be called from any thread. Without {@code chromium} installed,
 * {@link #start} fails saying how to install it; tests should let it fail rather than skip, so a
 * machine without a browser cannot pass them silently ({@link #available()} says in advance).
 */
public final class Chromium implements AutoCloseable {

  /** How long one protocol call, a page load or the browser's start may take. */
  public static final Duration TIMEOUT = Duration.ofSeconds(30);

  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);
  private static final String INSTALL_HINT =
      "install Debian's chromium (`apt-get install chromium`)";
  private static final Set<Chromium> live = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(
        () -> live.forEach(Chromium::kill), "walnut-chromium-reaper"));
  }

  private final Process process;
  private final Path profile;
  private final HttpClient http = HttpClient.newHttpClient();
  private final AtomicLong ids = new AtomicLong();
  // Filled by the WebSocket listener's thread, completed there; the key is the call's id.
  private final Map<Long, CompletableFuture<Map<String, Object>>> calls =
      new ConcurrentHashMap<>();
  // One-shot waiters for an event, by method name; completed by the listener's thread.
  private final Map<String, CompletableFuture<Map<String, Object>>> events =
      new ConcurrentHashMap<>();
  private WebSocket socket;

  private Chromium(Process process, Path profile) {
    this.process = process;
    this.profile = profile;
  }

  /** Whether a {@code chromium} executable is on the PATH (or in /usr/bin). */
  public static boolean available() {
    return binary().isPresent();
  }

  /**
   * Starts a headless browser with a fresh profile in a new directory under {@code tempDir} and
   * connects to its first page; fails with the browser's output if it does not come up within
   * {@link #TIMEOUT}, and with an install hint if there is no {@code chromium}.
   */
  public static Chromium start(Path tempDir) throws IOException {
    Path binary = binary().orElseThrow(() ->
        new IllegalStateException("chromium is not installed (not on the PATH): " + INSTALL_HINT));
    Path profile = Files.createTempDirectory(tempDir, "chromium-");
    ProcessBuilder builder = new ProcessBuilder(binary.toString(), "--headless", "--no-sandbox",
        "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions",
        "--disable-default-apps", "--hide-scrollbars", "--mute-audio",
        "--remote-debugging-port=0", "--user-data-dir=" + profile, "about:blank")
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectErrorStream(true)
        .redirectOutput(profile.resolve("chromium.log").toFile());
    // Its temporary files (the singleton socket's directory) too, or each run leaves one in /tmp.
    builder.environment().put("HOME", profile.toString());
    builder.environment().put("TMPDIR", profile.toString());
    Chromium browser = new Chromium(builder.start(), profile);
    live.add(browser);
    try {
      browser.connect();
      return browser;
    } catch (IOException | RuntimeException | Error e) {
      browser.close();
      throw e;
    }
  }

  /** The browser's pid (the main process; its helpers are its descendants). */
  public long pid() {
    return process.pid();
  }

  /**
   * Navigates to {@code url} and returns once its load event fired (scripts have run, subresources
   * are loaded); fails if the navigation fails (refused, a bad URL) or does not load in time.
   */
  public void open(String url) {
    CompletableFuture<Map<String, Object>> loaded = new CompletableFuture<>();
    events.put("Page.loadEventFired", loaded);
    Map<String, Object> result = call("Page.navigate", Map.of("url", url));
    if (result.get("errorText") instanceof String error && !error.isEmpty()) {
      events.remove("Page.loadEventFired");
      throw new IllegalStateException("cannot open " + url + ": " + error);
    }
    await(loaded, "the load event of " + url);
  }

  /**
   * Evaluates {@code jsExpression} in the page (a promise is awaited) and returns its value: a
   * string as it is, {@code null} for {@code undefined}, anything else as JSON text ({@code 3},
   * {@code true}, {@code ["a","b"]}, {@code null}). A thrown exception fails with its message.
   */
  public String eval(String jsExpression) {
    Map<String, Object> reply = call("Runtime.evaluate", Map.of("expression", jsExpression,
        "returnByValue", true, "awaitPromise", true));
    if (reply.get("exceptionDetails") instanceof Map<?, ?> details) {
      Object exception = details.get("exception");
      Object description = exception instanceof Map<?, ?> e ? e.get("description") : null;
      throw new IllegalStateException("JavaScript `" + jsExpression + "` threw: "
          + (description != null ? description : details.get("text")));
    }
    Map<?, ?> value = (Map<?, ?>) reply.get("result");
    if ("undefined".equals(value.get("type"))) {
      return null;
    }
    Object v = value.get("value");
    return v instanceof String s ? s : CdpJson.write(v);
  }

  /**
   * Emulates a screen {@code width} x {@code height} CSS pixels; {@code mobile}: a phone (mobile
   * viewport rules, device scale factor 2, as phones have at least), else a desktop at 1.
   */
  public void viewport(int width, int height, boolean mobile) {
    call("Emulation.setDeviceMetricsOverride", Map.of("width", width, "height", height,
        "deviceScaleFactor", mobile ? 2 : 1, "mobile", mobile));
  }

  /** A PNG of the whole page, beyond the viewport's height, at the emulated scale. */
  public byte[] screenshot() {
    Map<String, Object> metrics = call("Page.getLayoutMetrics", Map.of());
    Map<?, ?> size = (Map<?, ?>) metrics.get("cssContentSize");
    Map<String, Object> clip = new LinkedHashMap<>();
    clip.put("x", 0);
    clip.put("y", 0);
    clip.put("width", Math.ceil(((Number) size.get("width")).doubleValue()));
    clip.put("height", Math.ceil(((Number) size.get("height")).doubleValue()));
    clip.put("scale", 1);
    Map<String, Object> shot = call("Page.captureScreenshot",
        Map.of("format", "png", "captureBeyondViewport", true, "clip", clip));
    return Base64.getDecoder().decode((String) shot.get("data"));
  }

  /**
   * Sends one protocol command and returns its {@code result}; fails with the browser's error
   * message, or when it does not answer within {@link #TIMEOUT}. For what the methods above do
   * not cover (e.g. {@code Network.enable}).
   */
  public Map<String, Object> call(String method, Map<String, Object> params) {
    long id = ids.incrementAndGet();
    CompletableFuture<Map<String, Object>> reply = new CompletableFuture<>();
    calls.put(id, reply);
    Map<String, Object> message = new LinkedHashMap<>();
    message.put("id", id);
    message.put("method", method);
    message.put("params", params);
    try {
      socket.sendText(CdpJson.write(message), true).get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      Map<String, Object> answer = await(reply, method);
      if (answer.get("error") instanceof Map<?, ?> error) {
        throw new IllegalStateException(method + " failed: " + error.get("message")
            + (error.get("data") != null ? " (" + error.get("data") + ")" : ""));
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> result = (Map<String, Object>) answer.getOrDefault("result", Map.of());
      return result;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted sending " + method, e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot send " + method + " to chromium", e);
    } finally {
      calls.remove(id);
    }
  }

  /**
   * Asks the browser to quit, then stops it and every descendant by pid (SIGTERM, SIGKILL after a
   * few seconds). Deletes nothing: the profile stays in the caller's directory.
   */
  @Override
  public void close() {
    live.remove(this);
    // Before the browser quits: its helpers are reparented once it is gone.
    List<ProcessHandle> tree = new ArrayList<>(process.descendants().toList());
    tree.add(process.toHandle());
    if (socket != null) {
      try {
        call("Browser.close", Map.of());
      } catch (RuntimeException e) {
        // Already gone, or it answers no more: the signals below end it either way.
      }
      socket.abort();
    }
    tree.forEach(ProcessHandle::destroy);
    for (ProcessHandle p : tree) {
      try {
        p.onExit().get(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        p.destroyForcibly();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        kill();
        throw new IllegalStateException("interrupted stopping chromium pid " + pid(), e);
      } catch (ExecutionException e) {
        throw new IllegalStateException("cannot watch chromium pid " + p.pid(), e);
      }
    }
  }

  /** SIGKILL to the browser and its descendants, for the shutdown hook and an interrupted close. */
  private void kill() {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
  }

  private void connect() throws IOException {
    Path portFile = profile.resolve("DevToolsActivePort");
    if (!Poll.within(TIMEOUT, () -> !process.isAlive() || Files.isRegularFile(portFile)
        && readQuietly(portFile).contains("\n"))) {
      throw new IllegalStateException("chromium wrote no DevToolsActivePort within "
          + TIMEOUT.toSeconds() + " s; output:\n" + log());
    }
    if (!process.isAlive()) {
      throw new IllegalStateException("chromium exited with status " + process.exitValue()
          + "; output:\n" + log());
    }
    String base = "http://127.0.0.1:" + readQuietly(portFile).lines().findFirst().orElseThrow();
    String target = pageTarget(base);
    socket = http.newWebSocketBuilder().connectTimeout(TIMEOUT)
        .buildAsync(URI.create(target), new Listener()).join();
    call("Page.enable", Map.of());
    call("Runtime.enable", Map.of());
  }

  /** The WebSocket URL of the first page target, or of a new one if the browser shows none. */
  private String pageTarget(String base) throws IOException {
    for (Object t : (List<?>) JsonText.parseValue(get(base + "/json/list", "GET"))) {
      Map<?, ?> target = (Map<?, ?>) t;
      if ("page".equals(target.get("type"))) {
        return (String) target.get("webSocketDebuggerUrl");
      }
    }
    // Newer Chromium refuses GET here (a page must not be opened by a mere link).
    String created = get(base + "/json/new?" + URLEncoder.encode("about:blank",
        StandardCharsets.UTF_8), "PUT");
    return (String) ((Map<?, ?>) JsonText.parseValue(created)).get("webSocketDebuggerUrl");
  }

  private String get(String url, String method) throws IOException {
    try {
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(url))
          .timeout(TIMEOUT).method(method, HttpRequest.BodyPublishers.noBody()).build(),
          HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IOException(method + " " + url + ": HTTP " + response.statusCode() + " "
            + response.body());
      }
      return response.body();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + method + " " + url, e);
    }
  }

  private <T> T await(CompletableFuture<T> future, String what) {
    try {
      return future.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for " + what, e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("chromium failed: " + what, e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("no answer from chromium within " + TIMEOUT.toSeconds()
          + " s: " + what + (process.isAlive() ? "" : "; it exited; output:\n" + log()), e);
    }
  }

  private String log() {
    String text = readQuietly(profile.resolve("chromium.log"));
    return text.length() <= 4000 ? text : "…" + text.substring(text.length() - 4000);
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return "";
    }
  }

  private static Optional<Path> binary() {
    String path = System.getenv().getOrDefault("PATH", "");
    return Stream.concat(Stream.of(path.split(File.pathSeparator)), Stream.of("/usr/bin"))
        .filter(d -> !d.isEmpty()).map(d -> Path.of(d, "chromium"))
        .filter(Files::isExecutable).findFirst();
  }

  /** Reassembles text messages (a screenshot arrives in many parts) and routes each one. */
  private final class Listener implements WebSocket.Listener {
    private final StringBuilder parts = new StringBuilder();

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
      parts.append(data);
      if (last) {
        String text = parts.toString();
        parts.setLength(0);
        route(text);
      }
      webSocket.request(1);
      return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
      fail(new IllegalStateException("DevTools connection failed", error));
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
      fail(new IllegalStateException("chromium closed the DevTools connection: " + statusCode
          + " " + reason));
      return null;
    }

    /** Nothing more will answer: callers learn it now rather than at their deadline. */
    private void fail(IllegalStateException gone) {
      calls.values().forEach(c -> c.completeExceptionally(gone));
      events.values().forEach(c -> c.completeExceptionally(gone));
    }

    @SuppressWarnings("unchecked")
    private void route(String text) {
      Map<String, Object> message = (Map<String, Object>) JsonText.parseValue(text);
      if (message.get("id") instanceof Long id) {
        CompletableFuture<Map<String, Object>> call = calls.get(id);
        if (call != null) {
          call.complete(message);
        }
      } else if (message.get("method") instanceof String method) {
        CompletableFuture<Map<String, Object>> waiter = events.remove(method);
        if (waiter != null) {
          waiter.complete((Map<String, Object>) message.getOrDefault("params", Map.of()));
        }
      }
    }
  }
}
