package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Splitter;

/**
 * Splits MGET, DEL, UNLINK, TOUCH, EXISTS and MSET into one sub-request per server.
 *
 * <p>Implementation note: twemproxy (docs/compatibility.md#fragmented-commands) routes each key on
 * its own, groups the keys of one server into one sub-request in their relative order, rewrites it
 * as a fresh array with a lower-case command name, and sends the sub-requests in server order; MSET
 * keeps each value with its key. This does the same in three passes over small int arrays: route
 * every key, take the sorted distinct servers as fragments, then size each fragment exactly and
 * copy the arguments in. Keys are copied rather than sliced because a sub-request is a few short
 * bulk strings, where a composite buffer would cost more than the copy. A key with no live server
 * lands in a fragment whose server is {@link KeyRouter#NO_SERVER}, which the engine answers with an
 * error.
 *
 * <p>Stateless and shared by every connection: the per-request state lives in the
 * {@link MultiKeySplit} it returns. The frame is read in place and never retained or released.
 */
final class MultiKeySplitter implements Splitter {

  /** How the sub-replies become the client's reply. */
  enum Merge {
    /** Each sub-reply an array; the client gets every value back in its own key order. */
    VALUES,
    /** Each sub-reply an integer; the client gets the sum. */
    SUM,
    /** Each sub-reply {@code +OK}; the client gets {@code +OK}. */
    OK
  }

  static final MultiKeySplitter MGET = new MultiKeySplitter("mget", 1, Merge.VALUES);
  static final MultiKeySplitter DEL = new MultiKeySplitter("del", 1, Merge.SUM);
  static final MultiKeySplitter UNLINK = new MultiKeySplitter("unlink", 1, Merge.SUM);
  static final MultiKeySplitter TOUCH = new MultiKeySplitter("touch", 1, Merge.SUM);
  static final MultiKeySplitter EXISTS = new MultiKeySplitter("exists", 1, Merge.SUM);
  static final MultiKeySplitter MSET = new MultiKeySplitter("mset", 2, Merge.OK);

  private final String name;
  private final byte[] nameBytes;
  private final int step;
  private final Merge merge;

  private MultiKeySplitter(String name, int step, Merge merge) {
    this.name = name;
    this.nameBytes = name.getBytes(StandardCharsets.US_ASCII);
    this.step = step;
    this.merge = merge;
  }

  /** Arguments per key: 1, or 2 for MSET's key and value. */
  int step() {
    return step;
  }

  String upperName() {
    return name.toUpperCase(Locale.ROOT);
  }

  @Override
  public Split split(ByteBuf frame, KeyRouter router, ByteBufAllocator alloc) {
    FrameCursor cursor = new FrameCursor(frame, frame.readerIndex());
    int keys = (cursor.count() - 1) / step;
    int[] argStart = new int[keys * step];
    int[] argLength = new int[keys * step];
    cursor.next(); // the command name
    for (int i = 0; i < argStart.length; i++) {
      cursor.next();
      argStart[i] = cursor.start();
      argLength[i] = cursor.length();
    }
    int[] keyServer = new int[keys];
    for (int k = 0; k < keys; k++) {
      keyServer[k] = router.serverFor(frame, argStart[k * step], argLength[k * step]);
    }
    int[] servers = distinctSorted(keyServer);
    int[] fragmentOf = new int[keys];
    int[] position = new int[keys];
    int[] fragmentKeys = new int[servers.length];
    int[] payload = new int[servers.length];
    for (int k = 0; k < keys; k++) {
      int f = Arrays.binarySearch(servers, keyServer[k]);
      fragmentOf[k] = f;
      position[k] = fragmentKeys[f]++;
      for (int j = 0; j < step; j++) {
        payload[f] += Resp.bulkSize(argLength[k * step + j]);
      }
    }
    ByteBuf[] fragments = new ByteBuf[servers.length];
    try {
      for (int f = 0; f < fragments.length; f++) {
        int argc = 1 + fragmentKeys[f] * step;
        ByteBuf out = alloc.buffer(
            Resp.headerSize(argc) + Resp.bulkSize(nameBytes.length) + payload[f]);
        fragments[f] = out;
        Resp.writeHeader(out, '*', argc);
        Resp.writeBulk(out, nameBytes);
      }
      for (int i = 0; i < argStart.length; i++) {
        Resp.writeBulk(fragments[fragmentOf[i / step]], frame, argStart[i], argLength[i]);
      }
    } catch (RuntimeException | Error e) {
      for (ByteBuf f : fragments) {
        if (f != null) {
          f.release();
        }
      }
      throw e;
    }
    return new MultiKeySplit(merge, servers, fragments, fragmentOf, position, fragmentKeys);
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
    return "MultiKeySplitter{" + name + "}";
  }
}
