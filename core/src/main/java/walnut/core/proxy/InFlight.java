package walnut.core.proxy;

import io.netty.buffer.ByteBuf;

/**
 * A FIFO of requests on one backend connection: for each, who takes its reply, its size and its
 * deadline, and (for requests waiting for the connect) its frame. A ring of parallel arrays, so
 * queueing a request allocates nothing. Confined to the connection's event loop.
 */
final class InFlight {

  private ReplyHandler[] handlers = new ReplyHandler[16];
  private ByteBuf[] frames = new ByteBuf[16];
  private int[] bytes = new int[16];
  private long[] deadlines = new long[16];
  /** When a request was added during a hold of the reading (0: before it). */
  private long[] sentAt = new long[16];
  /** The time each request waited for holds of the reading, in all. */
  private long[] credits = new long[16];
  private int head;
  private int size;

  /**
   * Adds a request; {@code sentAt} is the time it came during a hold of the reading, or 0 when no
   * hold was on.
   */
  void add(ReplyHandler handler, ByteBuf frame, int requestBytes, long deadline, long sentAt) {
    if (size == handlers.length) {
      grow();
    }
    int i = (head + size) & (handlers.length - 1);
    handlers[i] = handler;
    frames[i] = frame;
    bytes[i] = requestBytes;
    deadlines[i] = deadline;
    this.sentAt[i] = sentAt;
    credits[i] = 0;
    size++;
  }

  boolean isEmpty() {
    return size == 0;
  }

  int size() {
    return size;
  }

  /** The head's handler, or {@code null} when empty. */
  ReplyHandler peek() {
    return size == 0 ? null : handlers[head];
  }

  /** The head's request bytes; the FIFO must not be empty. */
  int headBytes() {
    return bytes[head];
  }

  /** The head's frame ({@code null} once written); the FIFO must not be empty. */
  ByteBuf headFrame() {
    return frames[head];
  }

  /** The head's deadline (0: untimed), or 0 when empty. */
  long headDeadline() {
    return size == 0 ? 0 : deadlines[head];
  }

  /** Moves the head's deadline to {@code deadline}; the FIFO must not be empty. */
  void headDeadline(long deadline) {
    deadlines[head] = deadline;
  }

  /** Removes the head and returns its handler, or {@code null} when empty. */
  ReplyHandler poll() {
    if (size == 0) {
      return null;
    }
    ReplyHandler handler = handlers[head];
    handlers[head] = null;
    frames[head] = null;
    head = (head + 1) & (handlers.length - 1);
    size--;
    return handler;
  }

  /**
   * Credits every request with the time it waited for a hold of the reading from {@code since} to
   * {@code now}: {@code now - max(since, sentAt)}. A timed request's deadline moves on by as much.
   */
  void creditHold(long since, long now) {
    for (int n = 0; n < size; n++) {
      int i = (head + n) & (handlers.length - 1);
      long waited = now - Math.max(since, sentAt[i]);
      if (waited > 0) {
        credits[i] += waited;
        if (deadlines[i] != 0) {
          deadlines[i] += waited;
        }
      }
    }
  }

  /**
   * The most time a request behind the head has waited for holds in all: the oldest one's, which
   * waited through every hold a later one did.
   */
  long creditBehindHead() {
    return size < 2 ? 0 : credits[(head + 1) & (handlers.length - 1)];
  }

  private void grow() {
    int capacity = handlers.length << 1;
    ReplyHandler[] h = new ReplyHandler[capacity];
    ByteBuf[] f = new ByteBuf[capacity];
    int[] b = new int[capacity];
    long[] d = new long[capacity];
    long[] s = new long[capacity];
    long[] c = new long[capacity];
    for (int n = 0; n < size; n++) {
      int i = (head + n) & (handlers.length - 1);
      h[n] = handlers[i];
      f[n] = frames[i];
      b[n] = bytes[i];
      d[n] = deadlines[i];
      s[n] = sentAt[i];
      c[n] = credits[i];
    }
    handlers = h;
    frames = f;
    bytes = b;
    deadlines = d;
    sentAt = s;
    credits = c;
    head = 0;
  }
}
