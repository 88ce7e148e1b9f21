package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.Locale;
import walnut.core.spi.AbstractSplit;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Splitter;

/**
 * {@code EVAL}, {@code EVALSHA}, {@code EVAL_RO} and {@code EVALSHA_RO} routed by all their keys
 * (docs/compatibility.md#scripts): a script runs on one server, so its keys must all be there. The
 * request goes unchanged to their common server; keys on different servers are refused with an
 * error, and nothing is sent (twemproxy routed by the first key and let the script touch the
 * others wherever they landed). A script's error replies are its own ({@link #ownsErrorReplies}):
 * its {@code -BUSY} or {@code -OOM} does not count against the server.
 *
 * <p>{@link #checkNumkeys} runs first, in the request decoder: numkeys is at least 1 (the keys
 * choose the server) and at most the number of arguments left.
 */
final class EvalSplitter implements Splitter {

  static final EvalSplitter INSTANCE = new EvalSplitter();

  private EvalSplitter() {}

  /**
   * {@code null} when the numkeys of the script command of {@code argc} arguments (after its
   * name) at {@code index} is fine, else the error to answer.
   */
  static String checkNumkeys(ByteBuf buf, int index, int length, int argc, String command) {
    boolean digits = length > 0;
    long n = 0;
    for (int i = 0; i < length && digits; i++) {
      byte b = buf.getByte(index + i);
      digits = b >= '0' && b <= '9' && n < Integer.MAX_VALUE;
      n = n * 10 + (b - '0');
    }
    if (!digits) {
      return "ERR value is not an integer or out of range";
    }
    if (n == 0) {
      return "ERR " + command + " needs numkeys >= 1 through the proxy: its keys choose the"
          + " server";
    }
    return n > argc - 2 ? "ERR Number of keys can't be greater than number of args" : null;
  }

  @Override
  public Split split(ByteBuf frame, KeyRouter router, ByteBufAllocator alloc) {
    FrameCursor args = new FrameCursor(frame, frame.readerIndex());
    args.next();
    String name = Replies.quote(frame, args.start(), args.length()).toUpperCase(Locale.ROOT);
    args.next(); // the script or its sha
    args.next();
    int keys = 0;
    for (int i = 0; i < args.length(); i++) {
      keys = keys * 10 + (frame.getByte(args.start() + i) - '0'); // checked by checkNumkeys
    }
    int server = 0;
    for (int k = 0; k < keys; k++) {
      args.next();
      int s = router.serverFor(frame, args.start(), args.length());
      if (k > 0 && s != server) {
        return Refused.error("ERR " + name + "'s keys are on different servers of the pool, and"
            + " a script runs on one server: give them a common hash tag, e.g. {user1}a"
            + " {user1}b");
      }
      server = s;
    }
    return new One(server, frame.retainedSlice());
  }

  @Override
  public String toString() {
    return "EvalSplitter";
  }

  /** The script request, unchanged, to its keys' server. */
  private static final class One extends AbstractSplit {

    One(int server, ByteBuf frame) {
      super(new int[] {server}, new ByteBuf[] {frame});
    }

    @Override
    public boolean ownsErrorReplies() {
      return true;
    }

    @Override
    public ByteBuf merge(ByteBuf[] replies, ByteBufAllocator alloc) {
      checkReplyCount(replies);
      return replies[0].retainedDuplicate(); // whatever the script answered
    }
  }
}
