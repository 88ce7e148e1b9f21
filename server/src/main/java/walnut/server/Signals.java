package walnut.server;

import sun.misc.Signal;

/**
 * Process signals. SIGTERM and SIGINT start a graceful shutdown (twemproxy dies at once on
 * SIGTERM and exits 1 on SIGINT; Walnut finishes in-flight requests and exits 0, which is what
 * init systems and rolling restarts want).
 */
final class Signals {

  private Signals() {}

  static void onTermination(Runnable action) {
    for (String name : new String[] {"TERM", "INT"}) {
      Signal.handle(new Signal(name), signal -> {
        org.slf4j.LoggerFactory.getLogger(Signals.class)
            .info("signal {} (SIG{}) received, shutting down", signal.getNumber(), signal.getName());
        action.run();
      });
    }
  }
}
