package walnut.benchmarks.e2e;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Runs the short-lived tools of the end-to-end run (the load generators, {@code git}, version
 * queries) with a time limit: output and errors go to a file, a tool still running at the limit is
 * killed by its pid, and so is any tool still running when the JVM exits (Ctrl-C included).
 */
final class Tools {

  /** What a tool printed, and whether it finished in time with status 0. */
  record Result(String output, int status, boolean timedOut) {
    boolean ok() {
      return !timedOut && status == 0;
    }
  }

  private static final Set<Process> running = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      for (Process p : running) {
        p.destroyForcibly();
      }
    }, "walnut-e2e-tool-reaper"));
  }

  private Tools() {}

  /**
   * Runs {@code command} to its end or to {@code limit}, its output in {@code scratch}
   * (overwritten); appends the command line and the output to {@code log} if it is not null.
   */
  static Result run(List<String> command, Duration limit, Path scratch, Path log) {
    Process p;
    try {
      p = new ProcessBuilder(command)
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectErrorStream(true)
          .redirectOutput(scratch.toFile())
          .start();
    } catch (IOException e) {
      return new Result("cannot run " + command + ": " + e.getMessage(), -1, false);
    }
    running.add(p);
    boolean timedOut = false;
    try {
      if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
        timedOut = true;
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running " + command, e);
    } finally {
      running.remove(p);
    }
    String output;
    try {
      output = Files.readString(scratch, StandardCharsets.UTF_8);
    } catch (IOException e) {
      output = "(cannot read " + scratch + ": " + e + ")";
    }
    Result result = new Result(output, timedOut ? -1 : p.exitValue(), timedOut);
    if (log != null) {
      String entry = "$ " + String.join(" ", command) + "\n" + output
          + (result.ok() ? "" : timedOut ? "(killed after " + limit.toSeconds() + " s)\n"
          : "(exit status " + result.status() + ")\n");
      try {
        Files.writeString(log, entry, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write " + log, e);
      }
    }
    return result;
  }

  /** The first line of {@code command}'s output (a version, say), or "unknown". */
  static String firstLine(List<String> command, Path scratch) {
    Result r = run(command, Duration.ofSeconds(10), scratch, null);
    return r.output().lines().map(String::strip).filter(l -> !l.isEmpty()).findFirst()
        .orElse("unknown");
  }
}
