package walnut.testing;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.IntFunction;
import java.util.function.IntPredicate;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One external server process behind a fixture: its arguments, a private temporary working
 * directory holding its output log, its loopback port and its pid. {@link RedisServer} and {@link
 * MemcachedServer} wrap it and add their protocol.
 *
 * <p>Every process is stopped by its pid: SIGTERM, then SIGKILL after {@link #STOP_TIMEOUT} (or
 * SIGKILL at once when started non-graceful); a JVM shutdown hook SIGKILLs whatever a test forgot
 * to close. Lifecycle methods are synchronized, so a fixture may be driven from any thread; the
 * shutdown hook takes no lock, so a stuck test thread cannot keep it from reaping.
 */
final class ServerProcess {
  private static final Logger log = LoggerFactory.getLogger(ServerProcess.class);

  static final Duration START_TIMEOUT = Duration.ofSeconds(10);
  static final Duration STOP_TIMEOUT = Duration.ofSeconds(5);
  private static final int START_ATTEMPTS = 5;
  private static final String CLASH = "Address already in use";
  private static final int LOG_TAIL_CHARS = 4000;

  private static final Set<ServerProcess> live = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(ServerProcess::reapAll, "walnut-fixture-reaper"));
  }

  private final String name;
  private final Path binary;
  private final BiFunction<Path, Integer, List<String>> arguments;
  private final IntPredicate answers;
  private final boolean graceful;
  private final Path dir;
  private final Path logFile;
  private int port;
  // Volatile for the shutdown hook, which reads it without the lock; null while not running.
  private volatile Process process;
  private long pid;
  private boolean paused;
  private boolean closed;

  private ServerProcess(
      String name,
      Path binary,
      BiFunction<Path, Integer, List<String>> arguments,
      IntPredicate answers,
      boolean graceful,
      Path dir) {
    this.name = name;
    this.binary = binary;
    this.arguments = arguments;
    this.answers = answers;
    this.graceful = graceful;
    this.dir = dir;
    this.logFile = dir.resolve(name + ".log");
  }

  /**
   * Starts {@code name} (looked up on the PATH) with {@code arguments.apply(port)} on a fresh free
   * port, retrying on another port when the bind clashes, and returns once {@code answers} accepts
   * the port. Fails with the server's output if it exits or stays silent for {@link
   * #START_TIMEOUT}, and with an install hint ({@code apt-get install <aptPackage>}) if the binary
   * is missing. {@code graceful} chooses how {@link #close()} and {@link #restart()} stop it:
   * SIGTERM first, or SIGKILL at once for a server with nothing to flush and a slow SIGTERM.
   */
  static ServerProcess start(
      String name,
      String aptPackage,
      IntFunction<List<String>> arguments,
      IntPredicate answers,
      boolean graceful) {
    return start(name, aptPackage, (dir, port) -> arguments.apply(port), answers, graceful);
  }

  /**
   * {@link #start(String, String, IntFunction, IntPredicate, boolean)} for a server that needs a
   * file of its own, such as a configuration file: {@code arguments} also gets the working
   * directory, which is the process's current directory and is kept across {@link #restart()}, so
   * a file written there on the first start may be left as the server rewrote it.
   */
  static ServerProcess start(
      String name,
      String aptPackage,
      BiFunction<Path, Integer, List<String>> arguments,
      IntPredicate answers,
      boolean graceful) {
    Path binary = UnixProcesses.locate(name, aptPackage);
    Path dir;
    try {
      dir = Files.createTempDirectory("walnut-" + name + "-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a working directory for " + name, e);
    }
    ServerProcess server = new ServerProcess(name, binary, arguments, answers, graceful, dir);
    live.add(server);
    try {
      for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
        server.port = FreePorts.next();
        if (server.launch()) {
          return server;
        }
        log.debug("{} lost port {} to another process; trying another", name, server.port);
      }
      throw new IllegalStateException(
          name
              + " found no free port in "
              + START_ATTEMPTS
              + " attempts; last output:\n"
              + server.logTail(0));
    } catch (RuntimeException | Error e) {
      server.close();
      throw e;
    }
  }

  /** The private working directory; gone after {@link #close()}. */
  Path directory() {
    return dir;
  }

  synchronized int port() {
    return port;
  }

  /** The pid of the running process, or of the last one if it has been stopped or killed. */
  synchronized long pid() {
    return pid;
  }

  synchronized boolean isRunning() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /** SIGSTOP: the kernel still accepts connections and buffers requests, but nothing answers. */
  synchronized void pause() {
    requireRunning("pause");
    UnixProcesses.signal(pid, "STOP");
    paused = true;
    UnixProcesses.awaitStopped(pid, true, name);
  }

  /** SIGCONT after {@link #pause()}; buffered requests are then answered. */
  synchronized void resume() {
    requireRunning("resume");
    UnixProcesses.signal(pid, "CONT");
    paused = false;
    UnixProcesses.awaitStopped(pid, false, name);
  }

  /** SIGKILL and wait for the exit; the port and working directory stay for {@link #restart()}. */
  synchronized void kill() {
    requireRunning("kill");
    Process p = process;
    p.destroyForcibly();
    if (!UnixProcesses.exited(p, STOP_TIMEOUT)) {
      throw new IllegalStateException(name + " pid " + pid + " survived SIGKILL");
    }
    process = null;
    paused = false;
  }

  /** Stops the process if it runs, then starts a new one on the same port and waits for it. */
  synchronized void restart() {
    if (closed) {
      throw new IllegalStateException("cannot restart " + name + ": it is closed");
    }
    stop();
    for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      if (launch()) {
        return;
      }
    }
    throw new IllegalStateException(
        name + " could not rebind port " + port + "; another process holds it");
  }

  /**
   * Stops the process (SIGTERM, then SIGKILL after {@link #STOP_TIMEOUT}; SIGKILL at once if not
   * graceful) and deletes the working directory. Idempotent.
   */
  synchronized void close() {
    closed = true;
    try {
      stop();
    } finally {
      live.remove(this);
      deleteRecursively(dir);
    }
  }

  private void stop() {
    Process p = process;
    if (p == null) {
      return;
    }
    if (!graceful) {
      p.destroyForcibly(); // SIGKILL, which also ends a paused process
      if (!UnixProcesses.exited(p, STOP_TIMEOUT)) {
        throw new IllegalStateException(name + " pid " + pid + " survived SIGKILL");
      }
      process = null;
      paused = false;
      return;
    }
    if (paused && p.isAlive()) {
      // A stopped process keeps SIGTERM pending until it is continued.
      UnixProcesses.signal(pid, "CONT");
    }
    paused = false;
    p.destroy();
    if (!UnixProcesses.exited(p, STOP_TIMEOUT)) {
      log.warn("{} pid {} ignored SIGTERM for {}; sending SIGKILL", name, pid, STOP_TIMEOUT);
      p.destroyForcibly();
      if (!UnixProcesses.exited(p, STOP_TIMEOUT)) {
        throw new IllegalStateException(name + " pid " + pid + " survived SIGKILL");
      }
    }
    process = null;
  }

  /**
   * Starts one process on {@link #port}; false if it lost the port, throws on any other failure.
   */
  private boolean launch() {
    List<String> command = new ArrayList<>();
    command.add(binary.toString());
    command.addAll(arguments.apply(dir, port));
    long logOffset = logSize();
    Process p;
    try {
      p =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    }
    process = p;
    pid = p.pid();
    boolean settled = Poll.within(START_TIMEOUT, () -> !p.isAlive() || answers.test(port));
    if (settled && p.isAlive()) {
      log.debug("{} pid {} answers on 127.0.0.1:{}", name, pid, port);
      return true;
    }
    String output = logTail(logOffset);
    if (!p.isAlive() && output.contains(CLASH)) {
      process = null;
      return false;
    }
    String why =
        p.isAlive()
            ? " did not answer within " + START_TIMEOUT.toSeconds() + " s"
            : " exited with status " + p.exitValue();
    stop();
    throw new IllegalStateException(
        name
            + " ("
            + String.join(" ", command)
            + ") on port "
            + port
            + why
            + "; output:\n"
            + output);
  }

  private void requireRunning(String action) {
    if (!isRunning()) {
      throw new IllegalStateException("cannot " + action + " " + name + ": it is not running");
    }
  }

  private long logSize() {
    try {
      return Files.exists(logFile) ? Files.size(logFile) : 0;
    } catch (IOException e) {
      return 0;
    }
  }

  private String logTail(long from) {
    try {
      if (!Files.exists(logFile)) {
        return "";
      }
      byte[] all = Files.readAllBytes(logFile);
      int start = (int) Math.min(from, all.length);
      String text = new String(all, start, all.length - start, StandardCharsets.UTF_8);
      return text.length() <= LOG_TAIL_CHARS
          ? text
          : "…" + text.substring(text.length() - LOG_TAIL_CHARS);
    } catch (IOException e) {
      return "(cannot read " + logFile + ": " + e + ")";
    }
  }

  /** Deletes {@code root} and everything under it; logs, rather than throws, what it cannot. */
  static void deleteRecursively(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      log.warn("cannot delete {}", root, e);
    }
  }

  private static void reapAll() {
    for (ServerProcess server : live) {
      Process p = server.process;
      if (p != null) {
        p.destroyForcibly(); // SIGKILL also ends a paused process
      }
    }
    for (ServerProcess server : live) {
      Process p = server.process;
      if (p != null) {
        try {
          p.waitFor(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          return;
        }
      }
      deleteRecursively(server.dir);
    }
  }
}
