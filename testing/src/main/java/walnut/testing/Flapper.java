package walnut.testing;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;

/**
 * A server that flaps: stopped (SIGSTOP) and continued (SIGCONT) in turn on a fixed period, on a
 * thread of its own, with every phase recorded, so a test can tell what happened while the server
 * was stopped from what happened while it ran.
 *
 * <p>{@link #stop(ServerFixture)} stops the server and records that first phase at once; {@link
 * #flap(Duration, Duration)} then continues and stops it in turn every {@code period} for {@code
 * length}, starting with a continue. {@link #close()} ends the flapping and leaves the server
 * running. The timed waits between signals are the scenario itself, not a wait for a condition.
 * Thread-safe.
 */
public final class Flapper implements AutoCloseable {

  /**
   * One phase: the server is {@code stopped} (or running) from between {@code signalledAt} (just
   * before the signal was sent) and {@code settledAt} (when the kernel reported the new state).
   */
  public record Phase(boolean stopped, long signalledAt, long settledAt) {}

  private final ServerFixture server;
  private final List<Phase> phases = new CopyOnWriteArrayList<>();
  private volatile boolean done;
  private Thread thread;

  private Flapper(ServerFixture server) {
    this.server = server;
  }

  /** Stops {@code server} now and returns the flapper, its first phase recorded. */
  public static Flapper stop(ServerFixture server) {
    Flapper f = new Flapper(server);
    f.toggle(true);
    return f;
  }

  /** Continues and stops the server in turn, every {@code period}, for {@code length}. */
  public synchronized void flap(Duration period, Duration length) {
    if (thread != null) {
      throw new IllegalStateException("already flapping");
    }
    thread = new Thread(() -> run(period.toNanos(), length.toNanos()), "flapper-" + server.port());
    thread.setDaemon(true);
    thread.start();
  }

  private void run(long period, long length) {
    long start = System.nanoTime();
    for (long k = 1; !done; k++) {
      long next = start + k * period;
      if (next - start > length) {
        break;
      }
      for (long left = next - System.nanoTime(); left > 0 && !done;
          left = next - System.nanoTime()) {
        LockSupport.parkNanos(left);
      }
      if (!done) {
        toggle(!phases.get(phases.size() - 1).stopped());
      }
    }
  }

  private void toggle(boolean stop) {
    long signalled = System.currentTimeMillis();
    if (stop) {
      server.pause();
    } else {
      server.resume();
    }
    phases.add(new Phase(stop, signalled, System.currentTimeMillis()));
  }

  /** Waits for the flapping to end by itself ({@code length} passed). */
  public void await(Duration timeout) throws InterruptedException {
    Thread t;
    synchronized (this) {
      t = thread;
    }
    if (t != null) {
      t.join(timeout.toMillis());
      if (t.isAlive()) {
        throw new IllegalStateException("the flapper is still running after " + timeout);
      }
    }
  }

  /** Every phase so far, in order; the first is the stop of {@link #stop}. */
  public List<Phase> phases() {
    return List.copyOf(phases);
  }

  /** Ends the flapping and leaves the server running (continued if it was stopped). */
  @Override
  public void close() throws InterruptedException {
    done = true;
    Thread t;
    synchronized (this) {
      t = thread;
    }
    if (t != null) {
      LockSupport.unpark(t);
      t.join(10_000);
    }
    if (!phases.isEmpty() && phases.get(phases.size() - 1).stopped() && server.isRunning()) {
      toggle(false);
    }
  }
}
