package walnut.core.proxy;

/**
 * Hears every request forwarded on a shared server connection once its reply is ready for the
 * client: what Walnut's {@code --command-metrics} and {@code --slowlog-threshold} record. Set in
 * {@link EngineOptions#withObserver}; without one the engine looks at nothing more than it
 * always does (the request path allocates and parses nothing for it).
 *
 * <p>Called on the client's event loop, in the client's reply order: it must be quick and must
 * not block (count, and hand anything slow to another thread). Requests on private connections
 * (transactions, blocking commands, subscriptions) and the proxy's own replies are not observed.
 */
public interface RequestObserver {

  /**
   * Whether {@link #completed} wants each request's key: its first {@link #KEY_BYTES} bytes, and
   * one more when it is longer, so that a reader can tell it was cut.
   */
  boolean wantsKeys();

  /** How much of a key is kept for {@link #completed}. */
  int KEY_BYTES = 64;

  /**
   * A request of pool {@code pool} to {@code server} (a split request's servers, comma-separated)
   * took {@code nanos} from its arrival to its reply being ready; {@code command} is the
   * protocol's name for it ({@code null}: not one it knows); {@code key} its key's first bytes, or
   * {@code null} (keyless, split, or keys not wanted); {@code requestBytes} and
   * {@code replyBytes} as sent and as answered to the client.
   */
  void completed(String pool, String server, String command, byte[] key, long nanos,
      int requestBytes, long replyBytes);
}
