package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import walnut.core.spi.AbstractSplit;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Splitter;

/**
 * {@code SCAN cursor [MATCH p] [COUNT n] [TYPE t]} over every server of the pool
 * (docs/compatibility.md#scan): one client cursor walks the servers in the pool's order, each
 * server's own cursor and its index packed into one decimal number,
 * {@code client = (serverCursor << 10) | serverIndex}. Each call is one step on one server.
 *
 * <p>Client cursor 0 starts on server 0 at cursor 0. When server {@code i} answers cursor
 * {@code c}: {@code c != 0} gives the client {@code (c << 10) | i}; {@code c == 0} moves on to the
 * next server (client cursor {@code i + 1}), or ends the scan (0) after the last one. A server
 * cursor of 2^53 or more cannot be packed below 2^63 (what every client parses): that step answers
 * an error naming the server, never a wrapped cursor (Redis's own cursors stay below its table
 * size, so only a non-Redis backend gets there). A client cursor that is not an unsigned decimal
 * below 2^63, or whose index names no server, is {@code -ERR invalid cursor}, Redis's text,
 * answered without sending anything; so is a pool of more than 1024 servers, whose indices do not
 * fit in 10 bits.
 *
 * <p>A server ejected with {@code auto_eject_remap: false} answers its step with the ejection's
 * error (the client may retry the same cursor later): skipping it would break Redis's guarantee
 * that every key present throughout is returned. With {@code auto_eject_remap: true} its keys are
 * re-hashed to the others while it is out, so its steps are skipped, as if it answered 0.
 *
 * <p>The options are passed on verbatim, and the server's key array is copied to the client
 * verbatim (RESP2 and RESP3 alike); only the cursor bulk string is rewritten.
 */
final class ScanSplitter implements Splitter {

  static final ScanSplitter INSTANCE = new ScanSplitter();

  /** Bits of the client cursor that hold the server index. */
  static final int INDEX_BITS = 10;
  static final int MAX_SERVERS = 1 << INDEX_BITS;
  /** The first server cursor that cannot be packed below 2^63. */
  static final long CURSOR_LIMIT = 1L << (63 - INDEX_BITS);

  static final String INVALID_CURSOR = "ERR invalid cursor";

  private static final byte[] SCAN = {'S', 'C', 'A', 'N'};
  /** The reply of a scan that has no server left to walk. */
  private static final byte[] DONE = "*2\r\n$1\r\n0\r\n*0\r\n".getBytes(StandardCharsets.US_ASCII);

  private ScanSplitter() {}

  @Override
  public Split split(ByteBuf frame, KeyRouter router, ByteBufAllocator alloc) {
    FrameCursor args = new FrameCursor(frame, frame.readerIndex());
    int argc = args.count();
    args.next(); // SCAN
    args.next(); // the cursor
    int servers = router.servers();
    if (servers > MAX_SERVERS) {
      return Refused.error("ERR SCAN through the proxy walks pools of at most " + MAX_SERVERS
          + " servers; this one has " + servers);
    }
    long client = parseCursor(frame, args.start(), args.length());
    if (client < 0 || (client & (MAX_SERVERS - 1)) >= servers) {
      return Refused.error(INVALID_CURSOR);
    }
    int index = (int) (client & (MAX_SERVERS - 1));
    long cursor = client >>> INDEX_BITS;
    // Ejected with auto_eject_remap: true (out of the ring, yet not refused): its keys live on
    // the others for now, so its steps are skipped.
    while (index < servers && !router.live(index) && router.refusal(index) == null) {
      index++;
      cursor = 0;
    }
    if (index == servers) {
      return new Refused(DONE);
    }
    int restStart = args.start() + args.length() + 2;
    int rest = frame.writerIndex() - restStart;
    int cursorDigits = Resp.digits(cursor);
    ByteBuf out = alloc.buffer(Resp.headerSize(argc) + Resp.bulkSize(SCAN.length)
        + Resp.headerSize(cursorDigits) + cursorDigits + 2 + rest);
    Resp.writeHeader(out, '*', argc);
    Resp.writeBulk(out, SCAN);
    Resp.writeHeader(out, '$', cursorDigits);
    Resp.writeDecimal(out, cursor);
    out.writeShort(Resp.CRLF);
    out.writeBytes(frame, restStart, rest); // MATCH, COUNT, TYPE: verbatim
    return new ScanStep(index, out, servers, router.serverName(index));
  }

  /**
   * The unsigned decimal at {@code index}, or -1 when it is not one or is 2^63 or more. Leading
   * zeros are accepted, as Redis's {@code strtoul} does.
   */
  static long parseCursor(ByteBuf buf, int index, int length) {
    if (length == 0) {
      return -1;
    }
    long v = 0;
    for (int i = 0; i < length; i++) {
      int d = buf.getByte(index + i) - '0';
      if (d < 0 || d > 9 || v > (Long.MAX_VALUE - d) / 10) {
        return -1;
      }
      v = v * 10 + d;
    }
    return v;
  }

  /**
   * The client cursor after server {@code index} of {@code servers} answered {@code cursor}
   * (below {@link #CURSOR_LIMIT}).
   */
  static long pack(long cursor, int index, int servers) {
    if (cursor != 0) {
      return (cursor << INDEX_BITS) | index;
    }
    return index + 1 < servers ? index + 1 : 0;
  }

  @Override
  public String toString() {
    return "ScanSplitter";
  }

  /** One SCAN step: {@code fragment} to server {@code index} of {@code servers}. */
  static final class ScanStep extends AbstractSplit {

    private final int index;
    private final int servers;
    private final String serverName;

    ScanStep(int index, ByteBuf fragment, int servers, String serverName) {
      super(new int[] {index}, new ByteBuf[] {fragment});
      this.index = index;
      this.servers = servers;
      this.serverName = serverName;
    }

    @Override
    public ByteBuf merge(ByteBuf[] replies, ByteBufAllocator alloc) {
      checkReplyCount(replies);
      ByteBuf r = replies[0];
      if (ReplyReader.isError(r)) {
        return r.retainedDuplicate(); // COUNT 0's syntax error, -LOADING...: the server's own
      }
      ReplyReader reader = new ReplyReader(r);
      if (reader.header('*') != 2) {
        return null;
      }
      int cursorLength = (int) reader.header('$');
      if (cursorLength <= 0 || cursorLength > 20 || !reader.fits(cursorLength + 2)) {
        return null;
      }
      int at = reader.position();
      long cursor = 0;
      for (int i = 0; i < cursorLength; i++) {
        int d = r.getByte(at + i) - '0';
        if (d < 0 || d > 9) {
          return null;
        }
        if (cursor >= CURSOR_LIMIT / 10 + 1) {
          cursor = CURSOR_LIMIT; // beyond the limit whatever follows; no overflow
          continue;
        }
        cursor = cursor * 10 + d;
      }
      if (cursor >= CURSOR_LIMIT) {
        return Replies.error(alloc, "ERR SCAN cursor " + r.toString(at, cursorLength,
            StandardCharsets.US_ASCII) + " of server '" + serverName + "' is too large to pack"
            + " with its server index into one cursor (the limit is 2^" + (63 - INDEX_BITS)
            + ")");
      }
      int keys = at + cursorLength + 2;
      long client = pack(cursor, index, servers);
      int clientDigits = Resp.digits(client);
      int rest = r.writerIndex() - keys;
      ByteBuf out = alloc.buffer(4 + Resp.headerSize(clientDigits) + clientDigits + 2 + rest);
      Resp.writeHeader(out, '*', 2);
      Resp.writeHeader(out, '$', clientDigits);
      Resp.writeDecimal(out, client);
      out.writeShort(Resp.CRLF);
      out.writeBytes(r, keys, rest); // the keys, verbatim
      return out;
    }

    @Override
    public String toString() {
      return "ScanStep{server " + index + " of " + servers + "}";
    }
  }
}
