package walnut.testing;

import java.net.InetSocketAddress;

/**
 * The lifecycle shared by the real-server fixtures ({@link RedisServer}, {@link MemcachedServer}):
 * a process on a fixed loopback port that a test can pause, kill, restart and close by its pid.
 *
 * <p>Thread-safe: lifecycle methods may be called from any thread. Subclasses add the protocol's
 * own {@code command} helper.
 */
public abstract class ServerFixture implements AutoCloseable {
  static final String HOST = "127.0.0.1";

  final ServerProcess process;

  ServerFixture(ServerProcess process) {
    this.process = process;
  }

  /** Always {@code 127.0.0.1}: fixtures never listen beyond loopback. */
  public String host() {
    return HOST;
  }

  /** The port, fixed for the life of this fixture, restarts included. */
  public int port() {
    return process.port();
  }

  public InetSocketAddress address() {
    return new InetSocketAddress(HOST, port());
  }

  /**
   * The pid of the running server, or of the last one after {@link #kill()} or {@link #close()}.
   */
  public long pid() {
    return process.pid();
  }

  public boolean isRunning() {
    return process.isRunning();
  }

  /**
   * SIGSTOP: connections are still accepted by the kernel but nothing is answered until {@link
   * #resume()}. Returns once the kernel reports the process stopped.
   */
  public void pause() {
    process.pause();
  }

  /** SIGCONT after {@link #pause()}; requests sent meanwhile are then answered. */
  public void resume() {
    process.resume();
  }

  /** SIGKILL, waiting for the exit; connections are reset. {@link #restart()} brings it back. */
  public void kill() {
    process.kill();
  }

  /** Stops the server if it runs and starts a fresh, empty one on the same port. */
  public void restart() {
    process.restart();
  }

  /**
   * Stops the server by its pid (how, each fixture says) and deletes its working directory.
   * Idempotent.
   */
  @Override
  public void close() {
    process.close();
  }
}
