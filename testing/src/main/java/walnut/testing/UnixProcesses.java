package walnut.testing;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What the fixtures need from the OS beyond {@link Process}: finding a server binary, sending
 * SIGSTOP and SIGCONT by pid, and reading a process's state from /proc. Linux first; elsewhere the
 * state checks are skipped.
 */
final class UnixProcesses {
  private static final Duration SIGNAL_TIMEOUT = Duration.ofSeconds(5);

  private UnixProcesses() {}

  /**
   * The executable {@code name} on the PATH (or a usual bin directory); fails with an {@code
   * apt-get install <aptPackage>} hint if there is none.
   */
  static Path locate(String name, String aptPackage) {
    String pathVariable = System.getenv().getOrDefault("PATH", "");
    // The fallbacks cover a test JVM started with a trimmed PATH.
    Stream<String> dirs =
        Stream.concat(
            Stream.of(pathVariable.split(File.pathSeparator)),
            Stream.of("/usr/bin", "/usr/local/bin", "/usr/sbin", "/opt/homebrew/bin"));
    return dirs.filter(d -> !d.isEmpty())
        .map(d -> Path.of(d, name))
        .filter(Files::isExecutable)
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalStateException(
                    name
                        + " is not installed (not found on PATH "
                        + pathVariable
                        + "); install it with `apt-get install "
                        + aptPackage
                        + "`"));
  }

  /** Java can only TERM and KILL a process, so STOP and CONT go through kill(1), by pid. */
  static void signal(long pid, String signal) {
    List<String> command = List.of("kill", "-" + signal, Long.toString(pid));
    try {
      Process kill = new ProcessBuilder(command).redirectErrorStream(true).start();
      if (!exited(kill, SIGNAL_TIMEOUT)) {
        kill.destroyForcibly();
        throw new IllegalStateException(String.join(" ", command) + " did not finish");
      }
      if (kill.exitValue() != 0) {
        String output;
        try (InputStream in = kill.getInputStream()) {
          output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run " + command, e);
    }
  }

  /**
   * Waits until the kernel reports the process stopped (or no longer stopped), so a test that
   * pauses a server and then sends a request knows the request cannot be answered. Signals are
   * delivered asynchronously; without /proc (not Linux) we trust delivery to be prompt.
   */
  static void awaitStopped(long pid, boolean stopped, String name) {
    Path stat = Path.of("/proc", Long.toString(pid), "stat");
    if (!Files.isReadable(stat)) {
      return;
    }
    Poll.until(
        SIGNAL_TIMEOUT,
        () -> isStopped(stat) == stopped,
        name + " pid " + pid + (stopped ? " to stop" : " to continue"));
  }

  private static boolean isStopped(Path stat) {
    try {
      // "pid (comm) S ...": the state follows the last ')' because comm may contain anything.
      String text = readProcFile(stat);
      char state = text.charAt(text.lastIndexOf(')') + 2);
      return state == 'T' || state == 't';
    } catch (IOException e) {
      return false; // gone: certainly not stopped
    }
  }

  /** Whether {@code p} exited within {@code timeout}; an interrupt is restored and rethrown. */
  static boolean exited(Process p, Duration timeout) {
    try {
      return p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for pid " + p.pid(), e);
    }
  }

  /**
   * Reads a /proc file to its end. {@code Files.readString} trusts the reported file size, which
   * some kernels get wrong for /proc (seen: one byte of "32768 60999").
   */
  static String readProcFile(Path path) throws IOException {
    try (InputStream in = Files.newInputStream(path)) {
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim();
    }
  }
}
