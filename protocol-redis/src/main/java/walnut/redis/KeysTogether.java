package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Splitter;

/**
 * Routes a command with several keys that Redis must run on one server (WATCH, the blocking
 * pops, XREAD): every key is routed, and the command goes whole to their one server, or is
 * refused when they are on several (a hash tag keeps them together). Also reads a blocking
 * command's own timeout, for the proxy's deadline.
 *
 * <p>Stateless and shared; reads the frame in place and never releases it.
 */
final class KeysTogether implements Splitter {

  /** Where the keys are, and the timeout of a blocking command. */
  enum Keys {
    /** {@code WATCH key...}: every argument. */
    ALL,
    /** {@code BLPOP key... timeout}: all but the last, which is the timeout in seconds. */
    THEN_TIMEOUT,
    /** {@code BLMOVE src dst ... timeout}, {@code BRPOPLPUSH src dst timeout}: the first two. */
    TWO_THEN_TIMEOUT,
    /** {@code BLMPOP timeout numkeys key...}: numkeys keys after it. */
    TIMEOUT_NUMKEYS,
    /** {@code XREAD [COUNT n] [BLOCK ms] STREAMS key... id...}: the first half after STREAMS. */
    STREAMS
  }

  static final KeysTogether WATCH = new KeysTogether(Keys.ALL);
  static final KeysTogether POPS = new KeysTogether(Keys.THEN_TIMEOUT);
  static final KeysTogether MOVES = new KeysTogether(Keys.TWO_THEN_TIMEOUT);
  static final KeysTogether MPOPS = new KeysTogether(Keys.TIMEOUT_NUMKEYS);
  static final KeysTogether STREAMS = new KeysTogether(Keys.STREAMS);

  static final String APART =
      "ERR its keys are on different servers (a hash tag keeps keys together)";

  private static final byte[] STREAMS_WORD = {'S', 'T', 'R', 'E', 'A', 'M', 'S'};
  private static final byte[] BLOCK_WORD = {'B', 'L', 'O', 'C', 'K'};

  private final Keys keys;

  private KeysTogether(Keys keys) {
    this.keys = keys;
  }

  @Override
  public String toString() {
    return "KeysTogether." + keys;
  }

  @Override
  public Split split(ByteBuf frame, KeyRouter router, ByteBufAllocator alloc) {
    int[][] args = args(frame);
    int[] at = args[0];
    int[] len = args[1];
    int first;
    int last; // exclusive
    switch (keys) {
      case ALL -> {
        first = 1;
        last = at.length;
      }
      case THEN_TIMEOUT -> {
        first = 1;
        last = at.length - 1;
      }
      case TWO_THEN_TIMEOUT -> {
        first = 1;
        last = Math.min(3, at.length);
      }
      case TIMEOUT_NUMKEYS -> {
        long n = at.length > 2 ? number(frame, at[2], len[2]) : -1;
        if (n <= 0) {
          return refused("ERR numkeys should be greater than 0");
        }
        if (n > at.length - 3) {
          return refused("ERR Number of keys can't be greater than number of args");
        }
        first = 3;
        last = 3 + (int) n;
      }
      default -> {
        int streams = find(frame, at, len, STREAMS_WORD);
        int rest = streams < 0 ? 0 : at.length - streams - 1;
        if (rest == 0 || rest % 2 != 0) {
          return refused(streams < 0 ? "ERR syntax error"
              : "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must"
                  + " be specified.");
        }
        first = streams + 1;
        last = first + rest / 2;
      }
    }
    if (last <= first) {
      return refused("ERR syntax error");
    }
    int server = router.serverFor(frame, at[first], len[first]);
    for (int i = first + 1; i < last; i++) {
      if (router.serverFor(frame, at[i], len[i]) != server) {
        return refused(APART);
      }
    }
    return new Whole(frame.retainedDuplicate(), server, null);
  }

  /**
   * The blocking command's own timeout in milliseconds: -1 when it may block without a limit (0,
   * or a value Walnut does not read as Redis does, such as {@code 0x10}: the server then either
   * answers at once or blocks, and no deadline of Walnut's cuts it short), 0 when it does not
   * block (XREAD without BLOCK).
   */
  long blockMillis(ByteBuf frame) {
    int[][] args = args(frame);
    int[] at = args[0];
    int[] len = args[1];
    switch (keys) {
      case THEN_TIMEOUT, TWO_THEN_TIMEOUT, TIMEOUT_NUMKEYS -> {
        int i = keys == Keys.TIMEOUT_NUMKEYS ? 1 : keys == Keys.THEN_TIMEOUT ? at.length - 1
            : at.length - 1;
        if (i <= 0 || i >= at.length) {
          return 0;
        }
        try {
          double seconds = Double.parseDouble(
              frame.toString(at[i], len[i], java.nio.charset.StandardCharsets.US_ASCII));
          if (!(seconds > 0) || seconds > Long.MAX_VALUE / 1000d) {
            return -1; // forever, negative (an error at once) or unread: no deadline
          }
          return (long) Math.ceil(seconds * 1000);
        } catch (NumberFormatException e) {
          return -1;
        }
      }
      case STREAMS -> {
        int streams = find(frame, at, len, STREAMS_WORD);
        long block = 0;
        for (int i = 1; i + 1 < (streams < 0 ? at.length : streams); i++) {
          if (CommandTable.matches(frame, at[i], len[i], BLOCK_WORD)) {
            // The last BLOCK wins, as in Redis; one Walnut cannot read has no deadline.
            long ms = number(frame, at[i + 1], len[i + 1]);
            block = ms <= 0 ? -1 : ms;
          }
        }
        return block;
      }
      default -> {
        return 0;
      }
    }
  }

  /** Whether it blocks: always, but XREAD/XREADGROUP only with a BLOCK option (any value). */
  boolean blocks(ByteBuf frame) {
    return keys != Keys.STREAMS || blockMillis(frame) != 0;
  }

  private static int find(ByteBuf frame, int[] at, int[] len, byte[] word) {
    for (int i = 1; i < at.length; i++) {
      if (CommandTable.matches(frame, at[i], len[i], word)) {
        return i;
      }
    }
    return -1;
  }

  /** A non-negative decimal that fits a long, or -1. */
  private static long number(ByteBuf frame, int index, int length) {
    if (length == 0 || length > 19) {
      return -1;
    }
    long v = 0;
    for (int i = 0; i < length; i++) {
      byte b = frame.getByte(index + i);
      if (b < '0' || b > '9' || v > (Long.MAX_VALUE - (b - '0')) / 10) {
        return -1;
      }
      v = v * 10 + (b - '0');
    }
    return v;
  }

  /** The absolute offsets and lengths of every argument, the name included. */
  private static int[][] args(ByteBuf frame) {
    FrameCursor cursor = new FrameCursor(frame, frame.readerIndex());
    int[] at = new int[cursor.count()];
    int[] len = new int[at.length];
    for (int i = 0; cursor.next(); i++) {
      at[i] = cursor.start();
      len[i] = cursor.length();
    }
    return new int[][] {at, len};
  }

  private static Split refused(String error) {
    return new Whole(null, KeyRouter.NO_SERVER, error);
  }

  /** The whole command to one server (its own reference to the frame), or a refusal. */
  private static final class Whole implements Split {
    private ByteBuf frame;
    private final int server;
    private final String error;

    Whole(ByteBuf frame, int server, String error) {
      this.frame = frame;
      this.server = server;
      this.error = error;
    }

    @Override
    public ByteBuf refusal(ByteBufAllocator alloc) {
      return error == null ? null : Replies.error(alloc, error);
    }

    @Override
    public int size() {
      return 1;
    }

    @Override
    public int server(int i) {
      return server;
    }

    @Override
    public ByteBuf fragment(int i) {
      ByteBuf taken = frame;
      frame = null;
      return taken;
    }

    @Override
    public ByteBuf merge(ByteBuf[] replies, ByteBufAllocator alloc) {
      return replies[0].retainedDuplicate();
    }

    @Override
    public void discard() {
      if (frame != null) {
        frame.release();
        frame = null;
      }
    }
  }
}
