package walnut.server;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * Process signals, as twemproxy handles them where the JVM allows
 * (docs/compatibility.md#signals-logging-and-reload):
 *
 * <ul>
 *   <li>SIGTERM and SIGINT start a graceful shutdown (twemproxy dies at once on SIGTERM and exits
 *       1 on SIGINT; Walnut finishes in-flight requests and exits 0, which is what init systems
 *       and rolling restarts want);
 *   <li>SIGHUP reopens the {@code -o} log file (logrotate);
 *   <li>SIGTTIN / SIGTTOU raise / lower the log level by one, within 0..11;
 *   <li>SIGUSR1 reloads the configuration file (twemproxy 0.5.0 only logs it: the reload it had
 *       planned for this signal is what Walnut does);
 *   <li>SIGUSR2 is logged and otherwise ignored, as twemproxy does.
 * </ul>
 *
 * <p>Each is logged as {@code signal N (SIGNAME) received, …} whatever the log level. The JVM
 * keeps SIGSEGV, SIGBUS and SIGFPE (it writes an {@code hs_err} file instead of twemproxy's stack
 * trace), SIGQUIT (a thread dump on standard output) and SIGPIPE (ignored, as twemproxy ignores
 * it). A signal the JVM refuses (another JVM, or one started with flags that take it) is reported
 * at start and the process runs without it.
 *
 * <p>Handlers run on a thread the JVM starts per signal; everything they call is thread-safe.
 */
final class Signals {

  private static final Logger log = LoggerFactory.getLogger(Logging.ALWAYS);

  private Signals() {}

  static void onTermination(Runnable action) {
    for (String name : new String[] {"TERM", "INT"}) {
      on(name, signal -> {
        received(signal, "shutting down");
        action.run();
      });
    }
  }

  /** SIGHUP, SIGTTIN, SIGTTOU and SIGUSR2, as twemproxy handles them. */
  static void onLogControl() {
    on("HUP", signal -> {
      try {
        Path file = Logging.reopen();
        received(signal, file == null ? "no log file to reopen (logging to stderr)"
            : "log file '" + file + "' reopened");
      } catch (IOException | RuntimeException e) {
        received(signal, "reopening the log file failed: " + e.getMessage());
      }
    });
    on("TTIN", signal -> {
      int level = Logging.raise();
      received(signal, "up logging level to " + level + " (" + Logging.name(level) + ")");
    });
    on("TTOU", signal -> {
      int level = Logging.lower();
      received(signal, "down logging level to " + level + " (" + Logging.name(level) + ")");
    });
    on("USR2", signal -> received(signal, "ignored"));
  }

  /** SIGUSR1: reload the configuration. */
  static boolean onReload(Runnable reload) {
    return on("USR1", signal -> {
      received(signal, "reloading the configuration");
      reload.run();
    });
  }

  /** Logs twemproxy's line for {@code signal}, followed by {@code what}. */
  static void received(Signal signal, String what) {
    log.info("signal {} (SIG{}) received, {}", signal.getNumber(), signal.getName(), what);
  }

  /** Installs {@code handler}; false (and a warning) when the JVM does not let us have it. */
  private static boolean on(String name, Consumer<Signal> handler) {
    try {
      Signal.handle(new Signal(name), handler::accept);
      return true;
    } catch (IllegalArgumentException e) {
      log.warn("SIG{} cannot be handled in this JVM ({}); it keeps the JVM's default action",
          name, e.getMessage());
      return false;
    }
  }
}
