package walnut.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import sun.misc.Signal;

/**
 * The training run behind Walnut's class-data archive ({@code bin/walnut --make-cds-archive}, at
 * package time): starts the proxy as {@code bin/walnut} would, with a Redis and a memcached pool
 * on free loopback ports whose servers are down, sends each pool a few requests (answered with
 * errors, which loads the request path, the connection attempts and the error replies), asks for
 * the stats, and stops the proxy with SIGTERM (raised in the process, as {@code kill} would) so the
 * shutdown's classes are recorded too. The JVM records every class loaded on the way; the archive
 * then maps them at start instead of loading and verifying each one. A run that has not ended
 * after {@link #LIMIT_MILLIS} exits with status 1, so the build never waits for ever.
 */
public final class CdsTraining {

  private static final int TIMEOUT_MILLIS = 10_000;
  private static final long LIMIT_MILLIS = 60_000;

  private CdsTraining() {}

  public static void main(String[] args) throws Exception {
    Path dir = Files.createTempDirectory("walnut-cds");
    // Removed however the run ends: System.exit skips a finally block, not a shutdown hook.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir), "cds-training-cleanup"));
    Thread watchdog = new Thread(() -> {
      try {
        Thread.sleep(LIMIT_MILLIS);
        System.err.println("walnut: the training run did not end within " + LIMIT_MILLIS + " ms");
        delete(dir);
        Runtime.getRuntime().halt(1); // not exit: a shutdown hook of the proxy's could wait too
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt(); // the run ended
      }
    }, "cds-training-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    int redis = freePort();
    int memcache = freePort();
    int stats = freePort();
    Path conf = dir.resolve("nutcracker.yml");
    Files.writeString(conf, "redis:\n  listen: 127.0.0.1:" + redis + "\n  redis: true\n"
        + "  hash: fnv1a_64\n  distribution: ketama\n  timeout: 400\n  servers:\n"
        + "   - 127.0.0.1:" + freePort() + ":1\n"
        + "memcache:\n  listen: 127.0.0.1:" + memcache + "\n  hash: fnv1a_64\n"
        + "  distribution: ketama\n  timeout: 400\n  servers:\n"
        + "   - 127.0.0.1:" + freePort() + ":1\n");
    Thread client = new Thread(() -> exercise(redis, memcache, stats), "cds-training");
    client.setDaemon(true);
    client.start();
    int exit = Main.run(new PrintStream(OutputStream.nullOutputStream()), "-c",
        conf.toString(), "-s", Integer.toString(stats), "--threads", "1", "-v", "0");
    client.join(TIMEOUT_MILLIS);
    if (exit != 0) {
      System.err.println("walnut: the training run exited with " + exit);
      System.exit(exit);
    }
    System.exit(0);
  }

  private static void delete(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.err.println("walnut: cannot remove " + dir + ": " + e);
    }
  }

  /** Talks to each pool and the stats port, then sends this process SIGTERM. */
  private static void exercise(int redis, int memcache, int stats) {
    try {
      talk(redis, "PING\r\n", "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
          "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
          "*3\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n", "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n",
          "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
      talk(memcache, "version\r\n", "get k\r\n", "set k 0 0 1\r\nv\r\n", "get a b\r\n");
      try (Socket s = connect(stats)) {
        s.getInputStream().readAllBytes();
      }
    } catch (IOException e) {
      System.err.println("walnut: the training client failed: " + e);
    } finally {
      Signal.raise(new Signal("TERM"));
    }
  }

  /** Sends each request in turn and reads at least a byte of its reply. */
  private static void talk(int port, String... requests) throws IOException {
    try (Socket s = connect(port)) {
      OutputStream out = s.getOutputStream();
      InputStream in = s.getInputStream();
      byte[] buffer = new byte[4096];
      for (String r : requests) {
        out.write(r.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        if (in.read(buffer) < 0) {
          return;
        }
      }
    }
  }

  /** Connects to 127.0.0.1:{@code port}, retrying while the proxy is still starting. */
  private static Socket connect(int port) throws IOException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MILLIS);
    while (true) {
      Socket s = new Socket();
      try {
        s.connect(new InetSocketAddress("127.0.0.1", port), TIMEOUT_MILLIS);
        s.setSoTimeout(TIMEOUT_MILLIS);
        return s;
      } catch (IOException e) {
        s.close();
        if (System.nanoTime() > deadline) {
          throw e;
        }
        try {
          Thread.sleep(20);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
