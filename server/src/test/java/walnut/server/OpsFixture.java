package walnut.server;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import walnut.core.config.ProxyConfig;
import walnut.core.plugin.PluginRegistry;
import walnut.core.proxy.EngineOptions;
import walnut.core.tls.TlsEngine;
import walnut.testing.FreePorts;

/**
 * The runnable server in-process, as {@code bin/walnut} runs it (config file, stats port, metrics
 * endpoint, reloader), on free ports and the transport the suite runs on.
 */
final class OpsFixture implements AutoCloseable {

  static final PluginRegistry PLUGINS = WalnutComponent.create().plugins();

  final RunningProxy running;
  final Path conf;

  private OpsFixture(RunningProxy running, Path conf) {
    this.running = running;
    this.conf = conf;
  }

  /** Starts {@code conf} on {@code threads} loops; {@code metrics}: serve the metrics endpoint. */
  static OpsFixture start(Path conf, int threads, boolean metrics, boolean watch)
      throws Exception {
    byte[] digest = ConfigReloader.digest(conf);
    ProxyConfig config = ConfigCheck.load(conf, PLUGINS);
    Options options = new Options(5, FreePorts.next(), "127.0.0.1", 30_000, 16_384, threads,
        System.getProperty("walnut.it.transport", "nio"), Duration.ofSeconds(5), 64L << 20,
        metrics ? FreePorts.next() : 0, "127.0.0.1", watch, 0,
        EngineOptions.DEFAULT_SLOW_READER_LIMIT, TlsEngine.AUTO,
        EngineOptions.DEFAULT_TLS_HANDSHAKE_TIMEOUT, Options.Observability.OFF, List.of());
    return new OpsFixture(RunningProxy.start(config, PLUGINS, options, conf, digest), conf);
  }

  /**
   * Starts {@code conf} with the metrics endpoint on a free port, {@code threads} loops, and
   * Walnut's command-line {@code flags} as {@code bin/walnut} reads them (e.g.
   * {@code --command-metrics}, {@code --slowlog-threshold 50}).
   */
  static OpsFixture startWith(Path conf, int threads, String... flags) throws Exception {
    byte[] digest = ConfigReloader.digest(conf);
    ProxyConfig config = ConfigCheck.load(conf, PLUGINS);
    List<String> args = new java.util.ArrayList<>(List.of("-c", conf.toString(),
        "-s", Integer.toString(FreePorts.next()), "--metrics-port",
        Integer.toString(FreePorts.next()), "--threads", Integer.toString(threads),
        "--transport", System.getProperty("walnut.it.transport", "nio"),
        "--shutdown-grace", "5000"));
    args.addAll(List.of(flags));
    Main main = new Main(System.err, args.toArray(String[]::new));
    new picocli.CommandLine(main).parseArgs(args.toArray(String[]::new));
    Options options = Options.from(main, args);
    return new OpsFixture(RunningProxy.start(config, PLUGINS, options, conf, digest), conf);
  }

  int statsPort() {
    return running.statsPort();
  }

  int metricsPort() {
    return running.metricsPort();
  }

  int port(String pool) {
    return running.proxy().port(pool);
  }

  /** One stats document, as a monitoring script reads it. */
  String stats() throws IOException {
    return readStats(statsPort());
  }

  static String readStats(int port) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      InputStream in = socket.getInputStream();
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Override
  public void close() {
    try {
      running.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while stopping walnut", e);
    }
  }
}
