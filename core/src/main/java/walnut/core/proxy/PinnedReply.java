package walnut.core.proxy;

import io.netty.buffer.ByteBuf;

/**
 * The reply handler of a request sent on a private connection: passes everything to the client's
 * {@link PendingReply} and, when the request ends (its reply, the last piece of it, or a failure),
 * tells {@link Pins}, which gives the connection back when the request ended its conversation.
 * Confined to the client's event loop.
 */
final class PinnedReply implements ReplyHandler {

  private final ReplyHandler client;
  private final Pins.Pin pin;
  /** The request ends its conversation (EXEC, DISCARD, a blocking command): give the pin back. */
  private final boolean last;
  private final long extraWaitMillis;

  PinnedReply(ReplyHandler client, Pins.Pin pin, boolean last, long extraWaitMillis) {
    this.client = client;
    this.pin = pin;
    this.last = last;
    this.extraWaitMillis = extraWaitMillis;
  }

  @Override
  public void onReply(ByteBuf reply) {
    try {
      client.onReply(reply);
    } finally {
      pin.answered(last, true);
    }
  }

  @Override
  public boolean takesParts() {
    return client.takesParts();
  }

  @Override
  public void onPart(ByteBuf part, boolean isLast, ReadGate source) {
    try {
      client.onPart(part, isLast, source);
    } finally {
      if (isLast) {
        pin.answered(last, true);
      }
    }
  }

  @Override
  public void buffering(int bytes) {
    client.buffering(bytes);
  }

  @Override
  public boolean wanted() {
    return client.wanted();
  }

  @Override
  public void onError(String reason) {
    try {
      client.onError(reason);
    } finally {
      pin.answered(last, false); // the connection failed: nothing more on it is clean
    }
  }

  @Override
  public boolean ownsErrorReplies() {
    return client.ownsErrorReplies();
  }

  @Override
  public long extraWaitMillis() {
    return extraWaitMillis;
  }

  /** A reply the client was already answered for (a held MULTI's +OK): released unread. */
  static ReplyHandler dropped(Pins.Pin pin) {
    return new ReplyHandler() {
      @Override
      public void onReply(ByteBuf reply) {
        reply.release();
        pin.answered(false, true);
      }

      @Override
      public void onError(String reason) {
        pin.answered(false, false);
      }
    };
  }
}
