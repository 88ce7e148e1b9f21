package walnut.core.proxy;

/**
 * Hears every request forwarded on a shared server connection once its reply is ready for the
 * client: what Walnut's {@code --command-metrics} and {@code --slowlog-threshold} record. Set in
 * {@link EngineOptions#withObserver}; without one the engine looks at nothing more than it
 * always does (the request path allocates and parses nothing for it).
 *
 * <p>Called on the client's event loop, in the client's reply order: it must be quick and must
 * not block (count, and hand anything slow to another thread); what it throws is logged once and
 * ignored. Every reply the pool's latency histogram times is observed: requests on shared
 * connections, those of transactions and blocking commands, and errors for requests that could
 * not be sent; the proxy's own replies (PING, MULTI's OK, pub/sub messages) are not.
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
   * A request of pool {@code pool} to {@code server} (a split request's servers, comma-separated;
   * {@code -} when it was not sent) took {@code nanos} from its arrival to its reply being ready;
   * {@code command} is the protocol's name for it ({@code null}: not one it knows, or not known
   * any more); {@code key} its key's first bytes, or {@code null} (keyless, split, or keys not
   * wanted); {@code requestBytes} and {@code replyBytes} as sent and as answered to the client;
   * {@code waits}: a blocking command, which takes as long as the client asked.
   */
  void completed(String pool, String server, String command, byte[] key, long nanos,
      int requestBytes, long replyBytes, boolean waits);
}
