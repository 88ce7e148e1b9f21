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
  private int head;
  private int size;

  void add(ReplyHandler handler, ByteBuf frame, int requestBytes, long deadline) {
    if (size == handlers.length) {
      grow();
    }
    int i = (head + size) & (handlers.length - 1);
    handlers[i] = handler;
    frames[i] = frame;
    bytes[i] = requestBytes;
    deadlines[i] = deadline;
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
   * Credits every timed request with the time it waited for a hold of the reading from
   * {@code since} to {@code now}: a request due at d was sent at d - {@code timeout} (or, if a
   * hold credited it before, it is due as if sent then), so it waited
   * {@code now - max(since, d - timeout)} of this one.
   */
  void creditHold(long since, long now, long timeout) {
    for (int n = 0; n < size; n++) {
      int i = (head + n) & (handlers.length - 1);
      long d = deadlines[i];
      if (d != 0) {
        long waited = now - Math.max(since, d - timeout);
        if (waited > 0) {
          deadlines[i] = d + waited;
        }
      }
    }
  }

  private void grow() {
    int capacity = handlers.length << 1;
    ReplyHandler[] h = new ReplyHandler[capacity];
    ByteBuf[] f = new ByteBuf[capacity];
    int[] b = new int[capacity];
    long[] d = new long[capacity];
    for (int n = 0; n < size; n++) {
      int i = (head + n) & (handlers.length - 1);
      h[n] = handlers[i];
      f[n] = frames[i];
      b[n] = bytes[i];
      d[n] = deadlines[i];
    }
    handlers = h;
    frames = f;
    bytes = b;
    deadlines = d;
    head = 0;
  }
}
