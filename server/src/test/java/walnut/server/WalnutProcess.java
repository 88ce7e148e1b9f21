package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import walnut.testing.Poll;

/**
 * The packaged launcher, {@code bin/walnut}, as an operator runs it: in the background with
 * {@code -d}, a pid file and a log file, driven by signals sent to the pid. {@link #close} sends
 * SIGTERM and waits for the process to exit (SIGKILL after 20 s).
 */
final class WalnutProcess implements AutoCloseable {

  record Result(int exit, String output) {}

  /**
   * The launcher turns leak tracking off; the proxies the tests start track every buffer, and
   * {@link #close} fails on a leak their log reports.
   */
  static final String PARANOID = "-Dio.netty.leakDetection.level=paranoid";

  final long pid;
  final Path log;
  private final ProcessHandle handle;

  private WalnutProcess(long pid, Path log) {
    this.pid = pid;
    this.log = log;
    this.handle = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("no process " + pid));
  }

  /** Runs {@code bin/walnut args} to completion. */
  static Result run(String... args) throws IOException, InterruptedException {
    Path root = Path.of(System.getProperty("walnut.root", "..")).toAbsolutePath().normalize();
    List<String> command = new ArrayList<>();
    command.add(root.resolve("bin/walnut").toString());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("WALNUT_JAVA_OPTS", PARANOID);
    Process process = builder.start();
    try {
      assertTrue(process.waitFor(60, TimeUnit.SECONDS), "bin/walnut finished");
      return new Result(process.exitValue(),
          new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    } finally {
      process.destroyForcibly();
    }
  }

  /** What {@link #run(byte[], String...)} saw: the exit status, standard output and error apart. */
  record Streams(int exit, String out, String err) {}

  /**
   * Runs {@code bin/walnut args} to completion with {@code stdin} as its standard input, keeping
   * its standard output and error apart. The streams go through files, so neither side blocks on
   * a full pipe however much the launcher reads or prints. {@code javaOpts} are added to the
   * JVM's flags ({@code WALNUT_JAVA_OPTS}) after {@link #PARANOID}.
   */
  static Streams run(byte[] stdin, String javaOpts, String... args)
      throws IOException, InterruptedException {
    Path root = Path.of(System.getProperty("walnut.root", "..")).toAbsolutePath().normalize();
    List<String> command = new ArrayList<>();
    command.add(root.resolve("bin/walnut").toString());
    command.addAll(List.of(args));
    Path dir = Files.createTempDirectory("walnut-run");
    try {
      Path in = Files.write(dir.resolve("in"), stdin);
      ProcessBuilder builder = new ProcessBuilder(command).redirectInput(in.toFile())
          .redirectOutput(dir.resolve("out").toFile()).redirectError(dir.resolve("err").toFile());
      builder.environment().put("WALNUT_JAVA_OPTS", PARANOID + " " + javaOpts);
      Process process = builder.start();
      try {
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "bin/walnut finished");
      } finally {
        process.destroyForcibly();
      }
      return new Streams(process.exitValue(), Files.readString(dir.resolve("out")),
          Files.readString(dir.resolve("err")));
    } finally {
      for (String name : List.of("in", "out", "err")) {
        Files.deleteIfExists(dir.resolve(name));
      }
      Files.delete(dir);
    }
  }

  /**
   * Starts {@code bin/walnut -d -p <dir>/walnut.pid -o <dir>/walnut.log args} and returns once it
   * listens ({@code -d} returns then).
   */
  static WalnutProcess daemon(Path dir, String... args) throws IOException, InterruptedException {
    Path pidFile = dir.resolve("walnut.pid");
    Path log = dir.resolve("walnut.log");
    Files.deleteIfExists(pidFile);
    List<String> all = new ArrayList<>(List.of("-d", "-p", pidFile.toString(), "-o",
        log.toString()));
    all.addAll(List.of(args));
    Result r = run(all.toArray(String[]::new));
    assertEquals(0, r.exit(), r.output() + "\nlog:\n" + (Files.exists(log)
        ? Files.readString(log) : "(none)"));
    return new WalnutProcess(Long.parseLong(Files.readString(pidFile).trim()), log);
  }

  /**
   * Starts {@code bin/walnut -o <dir>/walnut.log args} in the foreground, as a child of this JVM
   * (its own output to {@code dir/walnut.out}), and returns once its log says it started: one JVM
   * where {@link #daemon} starts two, for tests that start many proxies. Fails with the log if
   * the proxy exits first or is not up within 60 s.
   */
  static WalnutProcess foreground(Path dir, String... args) throws IOException {
    Path root = Path.of(System.getProperty("walnut.root", "..")).toAbsolutePath().normalize();
    Path log = dir.resolve("walnut.log");
    Files.deleteIfExists(log);
    List<String> command = new ArrayList<>(List.of(root.resolve("bin/walnut").toString(), "-o",
        log.toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve("walnut.out").toFile())
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    builder.environment().put("WALNUT_JAVA_OPTS", PARANOID);
    Process process = builder.start(); // bin/walnut execs the JVM: this pid is the proxy's
    boolean up = Poll.within(Duration.ofSeconds(60),
        () -> !process.isAlive() || read(log).contains("] walnut-" + Main.VERSION + " started: "));
    if (!up || !process.isAlive()) {
      process.destroyForcibly();
      throw new AssertionError("walnut " + (process.isAlive() ? "did not start in 60 s"
          : "exited with " + exitValue(process)) + "; output:\n" + read(dir.resolve("walnut.out"))
          + "\nlog:\n" + read(log));
    }
    return new WalnutProcess(process.pid(), log);
  }

  private static String exitValue(Process process) {
    try {
      return Integer.toString(process.waitFor());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "?";
    }
  }

  /** Sends signal {@code name} ({@code HUP}, {@code USR1}, ...) to the proxy. */
  void signal(String name) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid))
        .redirectErrorStream(true).start();
    assertTrue(kill.waitFor(10, TimeUnit.SECONDS), "kill finished");
    assertEquals(0, kill.exitValue(), new String(kill.getInputStream().readAllBytes(),
        StandardCharsets.UTF_8));
  }

  boolean alive() {
    return handle.isAlive();
  }

  /** The log file's text now ("" before it exists). */
  String log() {
    return read(log);
  }

  static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Waits until the log holds {@code count} lines containing {@code text}. */
  void awaitLog(String text, int count) {
    if (!Poll.within(Duration.ofSeconds(30), () -> occurrences(log(), text) >= count)) {
      throw new AssertionError("timed out after 30 s waiting for " + count + " log line(s) with '"
          + text + "'; the log now:\n" + log());
    }
  }

  static int occurrences(String text, String needle) {
    int n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }

  @Override
  public void close() {
    handle.destroy(); // SIGTERM: graceful
    if (!Poll.within(Duration.ofSeconds(20), () -> !handle.isAlive())) {
      handle.destroyForcibly();
      throw new AssertionError("walnut " + pid + " did not exit on SIGTERM; log:\n" + log());
    }
    if (log().contains("LEAK:")) {
      throw new AssertionError("walnut " + pid + " reported a buffer leak; log:\n" + log());
    }
  }
}
