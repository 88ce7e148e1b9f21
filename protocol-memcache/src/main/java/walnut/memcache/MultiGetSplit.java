package walnut.memcache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import walnut.core.spi.AbstractSplit;

/**
 * The sub-requests of one split {@code get}/{@code gets}/{@code gat}/{@code gats}, and the merge
 * of their replies (docs/compatibility.md#multi-get).
 *
 * <p>Implementation note: a server answers one {@code VALUE} block per requested key it holds, in
 * the order the keys were asked, and nothing for the others. The merge walks each sub-reply once
 * beside its fragment's keys: a block belongs to the next key, in order, whose bytes equal the
 * block's key, and the keys passed over were misses. Then it copies the found blocks out in the
 * client's key order (a key asked twice gets its block twice) and ends with one {@code END}. A
 * sub-reply of any other shape (an error line, a block for a key not asked, a truncated block)
 * makes the merge return {@code null}, which the engine turns into {@code SERVER_ERROR Invalid
 * argument}.
 *
 * <p>Ownership: holds each fragment until {@link #fragment} hands it over, or {@link #discard}
 * releases it. {@link #merge} reads the replies and releases none. Used once, on the client's
 * event loop.
 */
final class MultiGetSplit extends AbstractSplit {

  private static final byte[] VALUE = Replies.bytes("VALUE ");
  private static final byte[] END = Replies.bytes("END\r\n");

  /** For each of the client's keys, in its order: the fragment it went to. */
  private final int[] fragmentOf;
  /** For each fragment, its keys (indexes into the client's keys) in the order they were sent. */
  private final int[][] fragmentKeys;
  private final byte[] keyBytes;
  private final int[] keyOffset;
  private final int[] keyLength;

  MultiGetSplit(int[] servers, ByteBuf[] fragments, int[] fragmentOf, int[] fragmentKeyCount,
      byte[] keyBytes, int[] keyOffset, int[] keyLength) {
    super(servers, fragments);
    this.fragmentOf = fragmentOf;
    this.keyBytes = keyBytes;
    this.keyOffset = keyOffset;
    this.keyLength = keyLength;
    this.fragmentKeys = new int[servers.length][];
    int[] filled = new int[servers.length];
    for (int f = 0; f < servers.length; f++) {
      fragmentKeys[f] = new int[fragmentKeyCount[f]];
    }
    for (int k = 0; k < fragmentOf.length; k++) {
      int f = fragmentOf[k];
      fragmentKeys[f][filled[f]++] = k;
    }
  }

  @Override
  public ByteBuf merge(ByteBuf[] replies, ByteBufAllocator alloc) {
    checkReplyCount(replies);
    int keys = fragmentOf.length;
    int[] blockStart = new int[keys];
    int[] blockLength = new int[keys]; // 0: a miss
    long total = END.length;
    for (int f = 0; f < replies.length; f++) {
      long found = walk(replies[f], fragmentKeys[f], blockStart, blockLength);
      if (found < 0) {
        return null;
      }
      total += found;
    }
    if (total > Integer.MAX_VALUE) {
      return null;
    }
    ByteBuf out = alloc.buffer((int) total);
    for (int k = 0; k < keys; k++) {
      if (blockLength[k] > 0) {
        out.writeBytes(replies[fragmentOf[k]], blockStart[k], blockLength[k]);
      }
    }
    return out.writeBytes(END);
  }

  /**
   * Matches the {@code VALUE} blocks of one sub-reply to its keys; returns the blocks' total
   * length, or -1 when the reply is not {@code VALUE}… {@code END}.
   */
  private long walk(ByteBuf reply, int[] asked, int[] blockStart, int[] blockLength) {
    int p = reply.readerIndex();
    int end = reply.writerIndex();
    int next = 0;
    long total = 0;
    while (!(end - p == END.length && startsWith(reply, p, end, END))) {
      if (!startsWith(reply, p, end, VALUE)) {
        return -1;
      }
      int lf = reply.indexOf(p, end, (byte) '\n');
      int keyFrom = p + VALUE.length;
      int keyTo = lf < 0 ? -1 : reply.indexOf(keyFrom, lf, (byte) ' ');
      if (keyTo <= keyFrom || reply.getByte(lf - 1) != '\r') {
        return -1;
      }
      long bytes = dataLength(reply, keyTo + 1, lf - 1);
      long blockEnd = lf + 1 + bytes + 2;
      if (bytes < 0 || blockEnd > end || reply.getByte((int) blockEnd - 2) != '\r'
          || reply.getByte((int) blockEnd - 1) != '\n') {
        return -1;
      }
      while (next < asked.length && !isKey(reply, keyFrom, keyTo, asked[next])) {
        next++; // a miss
      }
      if (next == asked.length) {
        return -1; // a block for a key not asked, or asked fewer times
      }
      int k = asked[next++];
      blockStart[k] = p;
      blockLength[k] = (int) blockEnd - p;
      total += blockLength[k];
      p = (int) blockEnd;
    }
    return total;
  }

  /** The {@code <bytes>} of {@code <flags> <bytes> [<cas>]} at [{@code from}, {@code to}). */
  private static long dataLength(ByteBuf reply, int from, int to) {
    int at = reply.indexOf(from, to, (byte) ' ');
    if (at < 0) {
      return -1;
    }
    long v = 0;
    int i = at + 1;
    for (; i < to && reply.getByte(i) != ' '; i++) {
      int d = reply.getByte(i) - '0';
      if (d < 0 || d > 9 || (v = v * 10 + d) > Integer.MAX_VALUE) {
        return -1;
      }
    }
    return i == at + 1 ? -1 : v;
  }

  private boolean isKey(ByteBuf reply, int from, int to, int k) {
    if (to - from != keyLength[k]) {
      return false;
    }
    for (int i = 0; i < keyLength[k]; i++) {
      if (reply.getByte(from + i) != keyBytes[keyOffset[k] + i]) {
        return false;
      }
    }
    return true;
  }

  private static boolean startsWith(ByteBuf buf, int at, int end, byte[] prefix) {
    if (end - at < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (buf.getByte(at + i) != prefix[i]) {
        return false;
      }
    }
    return true;
  }
}
