package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;

/**
 * One client's {@link Observation}s, in the order of its forwarded requests' replies, when the
 * engine has a {@link RequestObserver}; without one the client has none ({@code null}), and its
 * {@link PendingReply}s carry nothing for it (a field there would grow every request's entry).
 *
 * <p>Every reply its {@link ReplyQueue} queues that the proxy does not make itself takes a place
 * here, observed or not ({@link #NOT_OBSERVED}), so the head here is the head of the queue's
 * forwarded replies: the one that streams, then completes. Confined to the client's event loop.
 */
final class Observations {

  private static final Observation NOT_OBSERVED = Observation.none();

  private final ArrayDeque<Observation> queue = new ArrayDeque<>();
  private final RequestObserver observer;

  private Observations(RequestObserver observer) {
    this.observer = observer;
  }

  /** A client's observations under {@code options}, or {@code null} when nothing observes. */
  static Observations of(EngineOptions options) {
    return options.observer() == null ? null : new Observations(options.observer());
  }

  /** The next forwarded reply queued is {@code observed}'s ({@code null}: not observed). */
  void add(Observation observed) {
    queue.add(observed == null ? NOT_OBSERVED : observed);
  }

  /** A piece of the head's long reply goes to the client: counted, and returned for writing. */
  static ByteBuf streamed(Observations observations, ByteBuf piece) {
    if (observations != null) {
      Observation head = observations.queue.peek();
      Observation.streamed(head == NOT_OBSERVED ? null : head, piece);
    }
    return piece;
  }

  /** The head's reply is ready, {@code nanos} after its request came; its last piece {@code last}. */
  void completed(long nanos, ByteBuf last) {
    Observation head = queue.poll();
    if (head != null && head != NOT_OBSERVED) {
      head.completed(observer, nanos, last);
    }
  }
}
