package walnut.memcache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.Arrays;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Splitter;

/**
 * Splits {@code get}, {@code gets}, {@code gat} and {@code gats} with several keys into one
 * sub-request per server.
 *
 * <p>Implementation note: twemproxy (docs/compatibility.md#multi-get) routes each key on its own
 * and sends each server one {@code get} with that server's keys in their original relative order,
 * duplicates included (so each server answers one {@code VALUE} per occurrence it finds). This does
 * the same in three passes over small int arrays, as the Redis splitter does: route every key, take
 * the sorted distinct servers as fragments, then size each fragment exactly and copy the keys in.
 * The sub-request is {@code <command> [<exptime>] <key> <key>…\r\n}: the command and a {@code
 * gat}'s exptime as the client sent them, without twemproxy's space before the CRLF, so a fragment
 * is never longer than the client's line: a {@code gat} fragment stays within memcached's 2048-byte
 * line limit, and a long {@code get} fragment starts with {@code get }, which memcached lets run
 * longer. A key with no live
 * server lands in a fragment whose server is {@link KeyRouter#NO_SERVER}, which the engine answers
 * with an error.
 *
 * <p>The keys are also copied into one array kept by the {@link MultiGetSplit}, because the merge
 * has to recognise each {@code VALUE} by its key and the request frame is released once split.
 *
 * <p>Stateless and shared by every connection. The frame is read in place (it is a line the
 * request decoder has validated) and never retained or released.
 */
final class MultiGetSplitter implements Splitter {

  static final MultiGetSplitter INSTANCE = new MultiGetSplitter();

  private MultiGetSplitter() {}

  @Override
  public Split split(ByteBuf frame, KeyRouter router, ByteBufAllocator alloc) {
    int[] tokens = tokens(frame);
    int first = frame.getByte(tokens[0] + 1) == 'a' ? 2 : 1; // gat, gats: after the exptime
    int keys = tokens.length / 2 - first;
    int prefix = tokens[1] - tokens[0] + (first == 2 ? 1 + tokens[3] - tokens[2] : 0);
    int[] keyStart = new int[keys];
    int[] keyLength = new int[keys];
    int[] keyServer = new int[keys];
    int total = 0;
    for (int k = 0; k < keys; k++) {
      keyStart[k] = tokens[2 * (first + k)];
      keyLength[k] = tokens[2 * (first + k) + 1] - keyStart[k];
      keyServer[k] = router.serverFor(frame, keyStart[k], keyLength[k]);
      total += keyLength[k];
    }
    int[] servers = distinctSorted(keyServer);
    int[] fragmentOf = new int[keys];
    int[] fragmentSize = new int[servers.length];
    int[] fragmentKeys = new int[servers.length];
    Arrays.fill(fragmentSize, prefix + 2);
    for (int k = 0; k < keys; k++) {
      int f = Arrays.binarySearch(servers, keyServer[k]);
      fragmentOf[k] = f;
      fragmentKeys[f]++;
      fragmentSize[f] += 1 + keyLength[k];
    }
    byte[] keyBytes = new byte[total];
    int[] keyOffset = new int[keys];
    for (int k = 0, at = 0; k < keys; at += keyLength[k], k++) {
      keyOffset[k] = at;
      frame.getBytes(keyStart[k], keyBytes, at, keyLength[k]);
    }
    ByteBuf[] fragments = new ByteBuf[servers.length];
    try {
      for (int f = 0; f < fragments.length; f++) {
        ByteBuf out = alloc.buffer(fragmentSize[f]);
        fragments[f] = out;
        out.writeBytes(frame, tokens[0], tokens[1] - tokens[0]);
        if (first == 2) {
          out.writeByte(' ').writeBytes(frame, tokens[2], tokens[3] - tokens[2]);
        }
      }
      for (int k = 0; k < keys; k++) {
        fragments[fragmentOf[k]].writeByte(' ').writeBytes(keyBytes, keyOffset[k], keyLength[k]);
      }
      for (ByteBuf fragment : fragments) {
        fragment.writeByte('\r').writeByte('\n');
      }
    } catch (RuntimeException | Error e) {
      for (ByteBuf f : fragments) {
        if (f != null) {
          f.release();
        }
      }
      throw e;
    }
    return new MultiGetSplit(servers, fragments, fragmentOf, fragmentKeys, keyBytes, keyOffset,
        keyLength);
  }

  /**
   * Every token of the line, as {start, end} pairs of absolute indexes, cut as
   * {@link CommandLine} cuts them.
   */
  private static int[] tokens(ByteBuf frame) {
    int from = frame.readerIndex();
    int to = CommandLine.contentEnd(frame, from, frame.writerIndex() - 1);
    int count = 0;
    for (int i = from; i < to; i++) {
      if (frame.getByte(i) != ' ' && (i == from || frame.getByte(i - 1) == ' ')) {
        count++;
      }
    }
    int[] tokens = new int[2 * count];
    int n = 0;
    for (int i = from; i < to; i++) {
      boolean space = frame.getByte(i) == ' ';
      if (!space && (i == from || frame.getByte(i - 1) == ' ')) {
        tokens[n] = i;
      }
      if (!space && (i + 1 == to || frame.getByte(i + 1) == ' ')) {
        tokens[n + 1] = i + 1;
        n += 2;
      }
    }
    return tokens;
  }

  private static int[] distinctSorted(int[] values) {
    int[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = 0;
    for (int i = 0; i < sorted.length; i++) {
      if (i == 0 || sorted[i] != sorted[n - 1]) {
        sorted[n++] = sorted[i];
      }
    }
    return Arrays.copyOf(sorted, n);
  }

  @Override
  public String toString() {
    return "MultiGetSplitter";
  }
}
