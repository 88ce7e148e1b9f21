package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import walnut.core.spi.AbstractSplit;

/**
 * The sub-requests of one split MGET, DEL, UNLINK, TOUCH, EXISTS or MSET, and the merge of their
 * replies (docs/compatibility.md#fragmented-commands).
 *
 * <p>Implementation note: for MGET each key remembers its fragment and its position inside that
 * fragment; the merge finds where every element of every sub-reply starts, then copies the
 * elements out in the client's key order under one {@code *<keys>} header. A sub-reply of any other
 * shape than the command needs (an error such as {@code -READONLY}, an array of the wrong size, a
 * truncated element) makes the merge return {@code null}, which the engine turns into
 * {@code -ERR Invalid argument} as twemproxy does. With {@code mget_partial_errors}, an MGET whose
 * fragment failed gets that fragment's error element in each of its keys' places.
 *
 * <p>Ownership: holds each fragment until {@link #fragment} hands it over, or {@link #discard}
 * releases it. {@link #merge} reads the replies and releases none. Used once, on the client's
 * event loop.
 */
final class MultiKeySplit extends AbstractSplit {

  private static final int OK_REPLY = ('+' << 24) | ('O' << 16) | ('K' << 8) | '\r';

  private final MultiKeySplitter.Merge merge;
  private final int[] fragmentOf;
  private final int[] position;
  private final int[] fragmentKeys;
  private final LengthLine line = new LengthLine();

  MultiKeySplit(MultiKeySplitter.Merge merge, int[] servers, ByteBuf[] fragments,
      int[] fragmentOf, int[] position, int[] fragmentKeys) {
    super(servers, fragments);
    this.merge = merge;
    this.fragmentOf = fragmentOf;
    this.position = position;
    this.fragmentKeys = fragmentKeys;
  }

  @Override
  public ByteBuf merge(ByteBuf[] replies, ByteBufAllocator alloc) {
    checkReplyCount(replies);
    return switch (merge) {
      case VALUES -> mergeValues(replies, null, alloc);
      case SUM -> mergeSum(replies, alloc);
      case OK -> mergeOk(replies, alloc);
    };
  }

  /**
   * MGET only: each failed fragment's keys get its error element ({@code mget_partial_errors});
   * a count or an OK has no place for one.
   */
  @Override
  public ByteBuf mergePartial(ByteBuf[] replies, ByteBuf[] errors, ByteBufAllocator alloc) {
    checkReplyCount(replies);
    return merge == MultiKeySplitter.Merge.VALUES ? mergeValues(replies, errors, alloc) : null;
  }

  private ByteBuf mergeOk(ByteBuf[] replies, ByteBufAllocator alloc) {
    for (ByteBuf r : replies) {
      if (r.readableBytes() != 5 || r.getInt(r.readerIndex()) != OK_REPLY
          || r.getByte(r.readerIndex() + 4) != '\n') {
        return null;
      }
    }
    return alloc.buffer(5).writeInt(OK_REPLY).writeByte('\n');
  }

  private ByteBuf mergeSum(ByteBuf[] replies, ByteBufAllocator alloc) {
    long sum = 0;
    for (ByteBuf r : replies) {
      int p = r.readerIndex();
      int end = r.writerIndex();
      if (end - p < 4 || end - p > 23 || r.getByte(p) != ':' || r.getByte(end - 2) != '\r'
          || r.getByte(end - 1) != '\n') {
        return null;
      }
      p++;
      boolean negative = r.getByte(p) == '-';
      if (negative) {
        p++;
      }
      if (p == end - 2) {
        return null;
      }
      long v = 0;
      for (; p < end - 2; p++) {
        byte b = r.getByte(p);
        if (b < '0' || b > '9') {
          return null;
        }
        v = v * 10 + (b - '0');
      }
      sum += negative ? -v : v;
    }
    ByteBuf out = alloc.buffer(Resp.headerSize(sum));
    Resp.writeHeader(out, ':', sum);
    return out;
  }

  /**
   * {@code errors}: {@code null}; or, answering in part, the error element of each failed
   * fragment's keys, where a fragment answered with an error reply of its own ({@code -LOADING},
   * RESP3's {@code !}) has that reply in its keys' places.
   */
  private ByteBuf mergeValues(ByteBuf[] replies, ByteBuf[] errors, ByteBufAllocator alloc) {
    int[][] elementStart = new int[replies.length][];
    int[][] elementLength = new int[replies.length][];
    ByteBuf[] errorOf = errors == null ? null : new ByteBuf[replies.length];
    long total = Resp.headerSize(fragmentOf.length);
    for (int f = 0; f < replies.length; f++) {
      if (errors != null && (errors[f] != null || ReplyReader.isError(replies[f]))) {
        errorOf[f] = errors[f] != null ? errors[f] : replies[f];
        total += (long) fragmentKeys[f] * errorOf[f].readableBytes();
        continue;
      }
      ByteBuf r = replies[f];
      int n = fragmentKeys[f];
      int p = r.readerIndex();
      if (!r.isReadable() || r.getByte(p) != '*'
          || line.parse(r, p, Integer.MAX_VALUE, false) != LengthLine.OK || line.value != n) {
        return null;
      }
      p = line.end;
      int[] starts = new int[n];
      int[] lengths = new int[n];
      for (int j = 0; j < n; j++) {
        if (p + 3 <= r.writerIndex() && r.getByte(p) == '_' && r.getByte(p + 1) == '\r'
            && r.getByte(p + 2) == '\n') {
          starts[j] = p; // RESP3's null, from a connection a RESP3 client's request went to
          lengths[j] = 3;
          total += 3;
          p += 3;
          continue;
        }
        if (p >= r.writerIndex() || r.getByte(p) != '$'
            || line.parse(r, p, Integer.MAX_VALUE, true) != LengthLine.OK) {
          return null;
        }
        int end = line.value < 0 ? line.end : (int) Math.min(line.end + line.value + 2,
            Integer.MAX_VALUE);
        if (end > r.writerIndex() || (line.value >= 0
            && (r.getByte(end - 2) != '\r' || r.getByte(end - 1) != '\n'))) {
          return null;
        }
        starts[j] = p;
        lengths[j] = end - p;
        total += end - p;
        p = end;
      }
      if (p != r.writerIndex()) {
        return null;
      }
      elementStart[f] = starts;
      elementLength[f] = lengths;
    }
    if (total > Integer.MAX_VALUE) {
      return null;
    }
    ByteBuf out = alloc.buffer((int) total);
    Resp.writeHeader(out, '*', fragmentOf.length);
    for (int k = 0; k < fragmentOf.length; k++) {
      int f = fragmentOf[k];
      if (elementStart[f] == null) {
        out.writeBytes(errorOf[f], errorOf[f].readerIndex(), errorOf[f].readableBytes());
        continue;
      }
      int j = position[k];
      out.writeBytes(replies[f], elementStart[f][j], elementLength[f][j]);
    }
    return out;
  }
}
