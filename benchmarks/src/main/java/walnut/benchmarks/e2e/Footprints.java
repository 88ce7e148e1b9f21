package walnut.benchmarks.e2e;

import static walnut.benchmarks.e2e.Console.say;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Measures each proxy's resident memory ({@link Target}'s figures, through {@link ProcFs}): idle
 * after start, with {@code --idle-clients} idle connections open ({@link IdleClients}; fewer if
 * the limit on open files says so, with a note for the report), right after the load, and
 * {@code --settle} seconds later, which shows whether a proxy gives back what the load took (a
 * JVM's heap and buffer pools may shrink, or not, once the load is gone).
 */
final class Footprints {

  private final int asked;
  private final List<String> notes = new ArrayList<>();
  private int idleClients; // held open to each proxy for the memory figure; 0: not measured

  Footprints(int idleClients) {
    this.asked = idleClients;
  }

  /** The idle clients held open to each proxy; 0 when that was not measured. */
  int idleClients() {
    return idleClients;
  }

  /** What the report should say about these figures, one paragraph each. */
  List<String> notes() {
    return notes;
  }

  void idle(List<Target> proxies) {
    for (Target t : proxies) {
      t.idleKib = t.rssKib();
    }
    int n = asked;
    if (n == 0) {
      return;
    }
    try {
      long limit = ProcFs.openFileLimit();
      if (limit - 256 < n) {
        n = (int) Math.max(0, limit - 256);
        notes.add(String.format(Locale.ROOT, "Only %,d idle clients (asked: %,d): the limit on"
            + " open files is %,d; raise it with `ulimit -n`.", n, asked, limit));
        say("== " + notes.get(notes.size() - 1));
      }
    } catch (IOException e) {
      // Not Linux's /proc: try, and let a refused connection count what was held.
    }
    idleClients = n;
    if (n == 0) {
      return;
    }
    say(String.format(Locale.ROOT, "== resident memory: idle, and with %,d idle clients", n));
    for (Target t : proxies) {
      try {
        IdleClients.Measurement m =
            IdleClients.measure(new InetSocketAddress("127.0.0.1", t.redisPort), t.pid(), n);
        t.idleClients = m.held();
        t.withClientsKib = m.rssKib();
      } catch (IOException | UncheckedIOException e) {
        say("   " + t.name + ": cannot measure with idle clients: " + e.getMessage());
      }
      say(String.format(Locale.ROOT, "   %-18s idle %8s MiB   with %,d idle clients %8s MiB",
          t.name, Memory.mib(t.idleKib), Math.max(0, t.idleClients),
          Memory.mib(t.withClientsKib)));
    }
  }

  void afterLoad(List<Target> proxies) {
    for (Target t : proxies) {
      t.afterLoadKib = t.rssKib();
      say(String.format(Locale.ROOT, "   %-18s after the load %8s MiB", t.name,
          Memory.mib(t.afterLoadKib)));
    }
  }

  /**
   * Waits {@code seconds} (one wait for every proxy: they have all been idle since the load's
   * end), then reads every proxy's resident memory again; 0 skips it.
   */
  void settle(List<Target> proxies, int seconds) {
    if (seconds <= 0) {
      return;
    }
    say("== waiting " + seconds + " s, then resident memory again");
    try {
      Thread.sleep(seconds * 1000L);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Failure("interrupted while waiting " + seconds + " s after the load");
    }
    for (Target t : proxies) {
      t.settleSeconds = seconds;
      t.settledKib = t.rssKib();
      say(String.format(Locale.ROOT, "   %-18s %d s after the load %8s MiB", t.name, seconds,
          Memory.mib(t.settledKib)));
    }
  }
}
