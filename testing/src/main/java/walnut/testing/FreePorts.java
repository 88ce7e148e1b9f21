package walnut.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Free loopback TCP ports for tests.
 *
 * <p>Contract: {@link #next()} returns a port on which nothing listens on 127.0.0.1 at the moment
 * of the call, and which is never handed out again while this JVM lives, neither in this JVM nor in
 * another test JVM on the same machine that uses this class (they share a lock directory in {@code
 * java.io.tmpdir}). Nothing holds the port open: the caller binds it itself, and a process outside
 * this scheme may still take it in between; the server fixtures therefore retry on a bind clash.
 * Thread-safe.
 *
 * <p>Implementation note: the usual trick, binding port 0 and reading what the kernel chose, yields
 * a port from the ephemeral range, the range the kernel also draws the local end of outgoing
 * connections from. That has two costs for a proxy's tests: any outgoing connection on the machine
 * may take the port between our close and the server's bind, and, worse, while a backend is down
 * for a restart a reconnect to its port can be given that same port as its local end and connect to
 * itself (TCP simultaneous open), so the proxy would talk to itself. So this class draws at random
 * from below the ephemeral range (read from {@code /proc/sys/net/ipv4/ip_local_port_range}), checks
 * the port by binding it, and reserves it across JVMs with an exclusive lock on a file named for
 * the port, held until this JVM exits; the OS drops the lock even if the JVM crashes.
 */
public final class FreePorts {
  private static final Logger log = LoggerFactory.getLogger(FreePorts.class);

  /** Below this are the well-known ports of services a developer may run (redis 6379, …). */
  private static final int FLOOR = 20000;

  /** A range narrower than this makes random picks collide too often to be worth using. */
  private static final int MIN_RANGE = 2000;

  private static final int ATTEMPTS = 200;
  private static final Path LOCK_DIR =
      Path.of(System.getProperty("java.io.tmpdir"), "walnut-ports");

  private static final int[] RANGE = candidateRange();
  // Guarded by the class lock. Channels stay open, and referenced, so their locks last as long as
  // this JVM; opening and closing a second channel on a locked file would drop a POSIX lock, which
  // is why a port we hold is never probed again.
  private static final Set<Integer> handedOut = new HashSet<>();
  private static final List<FileChannel> locks = new ArrayList<>();

  private FreePorts() {}

  /**
   * Returns a loopback port that is free now and reserved for this JVM, as described in the class
   * contract. Throws {@link IllegalStateException} if no free port turns up after a few hundred
   * random tries.
   */
  public static synchronized int next() {
    if (RANGE == null) {
      return kernelChosen();
    }
    for (int i = 0; i < ATTEMPTS; i++) {
      int port = ThreadLocalRandom.current().nextInt(RANGE[0], RANGE[1] + 1);
      if (handedOut.contains(port) || !reserve(port)) {
        continue;
      }
      // Ours now even if something outside the scheme listens there: never re-probe its lock file.
      handedOut.add(port);
      if (bindable(port)) {
        return port;
      }
    }
    throw new IllegalStateException(
        "no free loopback port in " + RANGE[0] + "-" + RANGE[1] + " after " + ATTEMPTS + " tries");
  }

  /** Takes the cross-JVM lock for {@code port}; true if we hold it now (or cannot lock at all). */
  private static boolean reserve(int port) {
    FileChannel channel = null;
    try {
      Files.createDirectories(LOCK_DIR);
      channel =
          FileChannel.open(
              LOCK_DIR.resolve(port + ".lock"),
              StandardOpenOption.CREATE,
              StandardOpenOption.WRITE);
      FileLock lock = channel.tryLock();
      if (lock == null) {
        channel.close();
        return false; // another JVM owns it
      }
      locks.add(channel);
      return true;
    } catch (IOException e) {
      // An unwritable temp dir only costs the cross-JVM guarantee; the bind check still holds.
      log.debug("cannot lock port {} in {}; using it unreserved", port, LOCK_DIR, e);
      closeQuietly(channel);
      return true;
    }
  }

  private static boolean bindable(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      // Same SO_REUSEADDR as redis, memcached and Netty servers: TIME_WAIT leftovers do not count.
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int kernelChosen() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot bind a loopback port", e);
    }
  }

  /** Ports outside the ephemeral range, or null to fall back to the kernel's choice. */
  private static int[] candidateRange() {
    int ephemeralLow = 32768;
    int ephemeralHigh = 60999;
    try {
      String[] range =
          UnixProcesses.readProcFile(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
              .split("\\s+");
      ephemeralLow = Integer.parseInt(range[0]);
      ephemeralHigh = Integer.parseInt(range[1]);
    } catch (IOException | RuntimeException e) {
      log.debug("no ephemeral port range from /proc; assuming Linux defaults", e);
    }
    if (ephemeralLow - 1 - FLOOR >= MIN_RANGE) {
      return new int[] {FLOOR, ephemeralLow - 1};
    }
    if (65535 - (ephemeralHigh + 1) >= MIN_RANGE) {
      return new int[] {ephemeralHigh + 1, 65535};
    }
    return null;
  }

  private static void closeQuietly(FileChannel channel) {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // nothing to undo: the lock was never taken
      }
    }
  }
}
