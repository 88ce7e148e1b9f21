package walnut.core.proxy;

/**
 * The reading of one side of the engine, which the other side may hold. Both sides implement it:
 * <ul>
 *   <li>a client session: a backend connection whose outbound buffer is full holds the reading of
 *       each client that wrote to it, until it drains or fails (back-pressure);
 *   <li>a backend connection: a long reply streamed to a client that cannot take more holds the
 *       reading of the connection it comes from (a slow reader).
 * </ul>
 * The holder passes itself as {@code holder} and later resumes with the same object; resuming with
 * a holder that holds nothing does nothing. Confined to the event loop of the gate's channel.
 */
interface ReadGate {

  /** Stop reading on behalf of {@code holder} until {@link #resumeReading} with the same holder. */
  void pauseReading(Object holder);

  /** {@code holder} no longer needs reading stopped. */
  void resumeReading(Object holder);

  /**
   * A client's later requests wait until {@link #releaseRequests} (a blocking command: the server
   * runs nothing else on its connection meanwhile); unlike {@link #pauseReading}, reading goes on
   * (within the client's limits), so that a client leaving is seen. By default the same as
   * pausing.
   */
  default void holdRequests(Object holder) {
    pauseReading(holder);
  }

  /** The requests held by {@code holder} go on. */
  default void releaseRequests(Object holder) {
    resumeReading(holder);
  }
}
