package walnut.server;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code -d}: run in the background, as twemproxy's double fork does. A JVM cannot fork, so the
 * command starts a second JVM with the same class path and flags (in a new session when
 * {@code setsid} exists), its standard streams detached, and returns once that JVM reports that
 * it is listening — or fails with the child's error. The pid file names the child, the JVM that
 * serves.
 */
final class Daemon {

  private static final long READY_TIMEOUT_MILLIS = 60_000;

  private Daemon() {}

  static int spawn(PrintStream err, Options options, Path pidFile) throws IOException,
      InterruptedException {
    Path ready = Files.createTempFile("walnut-ready-", ".txt");
    Files.delete(ready);
    List<String> command = new ArrayList<>();
    if (new File("/usr/bin/setsid").canExecute()) {
      command.add("/usr/bin/setsid");
    }
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    for (String arg : options.args()) {
      if (!arg.equals("-d") && !arg.equals("--daemonize")) {
        command.add(arg);
      }
    }
    command.add("--daemon-ready-file");
    command.add(ready.toString());
    Process child = new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.DISCARD)
        .start();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READY_TIMEOUT_MILLIS);
    try {
      while (System.nanoTime() < deadline) {
        if (Files.exists(ready)) {
          String status = Files.readString(ready).trim();
          if (status.equals("ok")) {
            return 0;
          }
          if (!status.isEmpty()) {
            err.println("walnut: " + status.replaceFirst("^error: ", ""));
            return 1;
          }
        }
        if (!child.isAlive()) {
          err.println("walnut: the daemon exited with status " + child.exitValue()
              + " before it was listening");
          return 1;
        }
        child.waitFor(10, TimeUnit.MILLISECONDS);
      }
      err.println("walnut: the daemon did not report ready within " + READY_TIMEOUT_MILLIS
          + " ms; stopping it");
      child.destroy();
      return 1;
    } finally {
      Files.deleteIfExists(ready);
    }
  }
}
