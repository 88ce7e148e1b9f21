package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;

/**
 * One client's {@link Observation}s, in the order of the replies the pool's latency histogram
 * times (every reply the proxy does not make itself), when the engine has a
 * {@link RequestObserver}; without one the client has none ({@code null}), and its
 * {@link PendingReply}s carry nothing for it (a field there grew every request's entry by 8
 * bytes). The head here is the head of the queue's timed replies: the one that streams, then
 * completes. Confined to the client's event loop.
 */
final class Observations {

  private final ArrayDeque<Observation> queue = new ArrayDeque<>();
  private final RequestObserver observer;

  private Observations(RequestObserver observer) {
    this.observer = observer;
  }

  /** A client's observations under {@code options}, or {@code null} when nothing observes. */
  static Observations of(EngineOptions options) {
    return options.observer() == null ? null : new Observations(options.observer());
  }

  /** The next timed reply queued is {@code observed}'s ({@code null}: unnamed, of {@code pool}). */
  void add(Observation observed, Pool pool) {
    queue.add(observed == null ? Observation.unnamed(pool) : observed);
  }

  /** A piece of the head's long reply goes to the client: counted, and returned for writing. */
  static ByteBuf streamed(Observations observations, ByteBuf piece) {
    if (observations != null && !observations.queue.isEmpty()) {
      observations.queue.peek().streamed(piece);
    }
    return piece;
  }

  /**
   * Takes the observation of {@code head}, which leaves the queue: {@code null} for a reply the
   * proxy made itself, or without observations. Taken when the reply leaves, whatever becomes of
   * it, so that the next reply finds its own.
   */
  static Observation take(Observations observations, PendingReply head) {
    return observations == null || head.isLocal() ? null : observations.queue.poll();
  }

  /**
   * The reply {@code observed} was taken for is done, {@code nanos} after its request came; its
   * last piece {@code last} ({@code null}: none, the client was closed on it).
   */
  static void completed(Observations observations, Observation observed, long nanos,
      ByteBuf last) {
    if (observed != null) {
      observed.completed(observations.observer, nanos, last);
    }
  }
}
