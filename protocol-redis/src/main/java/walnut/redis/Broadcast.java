package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import walnut.core.spi.AbstractSplit;

/**
 * One {@link ServerCommands} request sent to every server, and the merge of the replies. It
 * {@link #mergesFailures() merges failures} itself: a server that could not be asked answers
 * with its error, yet a {@code SCRIPT LOAD} the others took is remembered, and a
 * {@code SCRIPT FLUSH} one took empties the registry. Scripts' error replies are their own ({@link #ownsErrorReplies()}).
 *
 * <p>Ownership: as {@link AbstractSplit}; the merges read the replies and errors, release none,
 * and return new buffers. Used once, on the client's event loop.
 */
final class Broadcast extends AbstractSplit {

  private static final int SHA_LENGTH = 40;

  private final ServerCommands.Kind kind;
  /** {@code SCRIPT LOAD}'s body, else {@code null}. */
  private final byte[] body;
  private final ScriptRegistry registry;

  Broadcast(ServerCommands.Kind kind, int[] servers, ByteBuf[] fragments, byte[] body,
      ScriptRegistry registry) {
    super(servers, fragments);
    this.kind = kind;
    this.body = body;
    this.registry = registry;
  }

  @Override
  public boolean ownsErrorReplies() {
    return kind != ServerCommands.Kind.DBSIZE;
  }

  @Override
  public boolean mergesFailures() {
    return true;
  }

  @Override
  public ByteBuf merge(ByteBuf[] replies, ByteBufAllocator alloc) {
    return mergePartial(replies, new ByteBuf[replies.length], alloc);
  }

  /** {@code replies[i]} is {@code null} where server {@code i} failed with {@code errors[i]}. */
  @Override
  public ByteBuf mergePartial(ByteBuf[] replies, ByteBuf[] errors, ByteBufAllocator alloc) {
    checkReplyCount(replies);
    return switch (kind) {
      case DBSIZE -> sum(replies, errors, alloc);
      case SCRIPT_LOAD -> load(replies, errors, alloc);
      case SCRIPT_FLUSH -> flush(replies, errors, alloc);
      case SCRIPT_EXISTS -> exists(replies, errors, alloc);
      case SCRIPT_KILL -> kill(replies, errors, alloc);
    };
  }

  /** The first failure or error reply, in server order, as a new buffer; else {@code null}. */
  private static ByteBuf firstError(ByteBuf[] replies, ByteBuf[] errors, ByteBufAllocator alloc) {
    for (int i = 0; i < replies.length; i++) {
      ByteBuf e = errors[i] != null ? errors[i]
          : ReplyReader.isError(replies[i]) ? replies[i] : null;
      if (e != null) {
        return copy(e, alloc);
      }
    }
    return null;
  }

  private static ByteBuf copy(ByteBuf b, ByteBufAllocator alloc) {
    return alloc.buffer(b.readableBytes()).writeBytes(b, b.readerIndex(), b.readableBytes());
  }

  private static ByteBuf sum(ByteBuf[] replies, ByteBuf[] errors, ByteBufAllocator alloc) {
    ByteBuf error = firstError(replies, errors, alloc);
    if (error != null) {
      return error;
    }
    long sum = 0;
    for (ByteBuf r : replies) {
      ReplyReader reader = new ReplyReader(r);
      long n = reader.header(':');
      if (n < 0 || !reader.atEnd()) {
        return null;
      }
      sum += n;
    }
    ByteBuf out = alloc.buffer(Resp.headerSize(sum));
    Resp.writeHeader(out, ':', sum);
    return out;
  }

  private ByteBuf load(ByteBuf[] replies, ByteBuf[] errors, ByteBufAllocator alloc) {
    String sha = null;
    boolean agree = true;
    boolean refused = false;
    for (ByteBuf r : replies) {
      if (r == null) {
        continue;
      }
      ReplyReader reader = new ReplyReader(r);
      int at = reader.string();
      if (at < 0 || reader.length != SHA_LENGTH || !reader.atEnd()) {
        refused = true; // a compile error: every server refuses the same script
        continue;
      }
      String s = r.toString(at, SHA_LENGTH, StandardCharsets.US_ASCII);
      agree &= sha == null || sha.equals(s);
      sha = sha == null ? s : sha;
    }
    if (sha != null && agree && !refused) {
      // Also when a server could not be asked: its next connection's handshake loads it.
      registry.remember(sha, body);
    }
    ByteBuf error = firstError(replies, errors, alloc);
    if (error != null) {
      return error;
    }
    if (refused) {
      return null;
    }
    if (!agree) {
      return Replies.error(alloc, "ERR SCRIPT LOAD: the pool's servers answered different SHA1s");
    }
    return copy(replies[0], alloc);
  }

  private ByteBuf flush(ByteBuf[] replies, ByteBuf[] errors, ByteBufAllocator alloc) {
    boolean anyOk = false;
    boolean allOk = true;
    for (ByteBuf r : replies) {
      boolean ok = r != null && isOk(r);
      anyOk |= ok;
      allOk &= ok;
    }
    if (anyOk) {
      registry.clear();
    }
    ByteBuf error = firstError(replies, errors, alloc);
    if (error != null) {
      return error;
    }
    return allOk ? Replies.ok(alloc) : null;
  }

  private static boolean isOk(ByteBuf r) {
    return r.readableBytes() == 5 && r.getByte(r.readerIndex()) == '+'
        && r.getByte(r.readerIndex() + 1) == 'O' && r.getByte(r.readerIndex() + 2) == 'K';
  }

  private static ByteBuf exists(ByteBuf[] replies, ByteBuf[] errors, ByteBufAllocator alloc) {
    ByteBuf error = firstError(replies, errors, alloc);
    if (error != null) {
      return error;
    }
    boolean[] all = null;
    for (ByteBuf r : replies) {
      ReplyReader reader = new ReplyReader(r);
      long n = reader.header('*');
      if (n < 0 || (all != null && n != all.length) || n > r.readableBytes()) {
        return null;
      }
      if (all == null) {
        all = new boolean[(int) n];
        Arrays.fill(all, true);
      }
      for (int j = 0; j < n; j++) {
        long v = reader.header(':');
        if (v < 0 || v > 1) {
          return null;
        }
        all[j] &= v == 1;
      }
      if (!reader.atEnd()) {
        return null;
      }
    }
    ByteBuf out = alloc.buffer(Resp.headerSize(all.length) + 4 * all.length);
    Resp.writeHeader(out, '*', all.length);
    for (boolean b : all) {
      Resp.writeHeader(out, ':', b ? 1 : 0);
    }
    return out;
  }

  /**
   * {@code +OK} when any server killed a script; else the first error that is not
   * {@code NOTBUSY} ({@code -UNKILLABLE}, a server that could not be asked); else NOTBUSY.
   */
  private static ByteBuf kill(ByteBuf[] replies, ByteBuf[] errors, ByteBufAllocator alloc) {
    ByteBuf notBusy = null;
    for (ByteBuf r : replies) {
      if (r != null && isOk(r)) {
        return Replies.ok(alloc);
      }
      if (r != null && notBusy == null && text(r).contains("NOTBUSY")) {
        notBusy = r;
      }
    }
    for (int i = 0; i < replies.length; i++) {
      ByteBuf e = errors[i] != null ? errors[i] : replies[i];
      if (e != replies[i] || !text(e).contains("NOTBUSY")) {
        return copy(e, alloc);
      }
    }
    return notBusy == null ? null : copy(notBusy, alloc);
  }

  private static String text(ByteBuf b) {
    return b.toString(b.readerIndex(), Math.min(b.readableBytes(), 64),
        StandardCharsets.ISO_8859_1);
  }

  @Override
  public String toString() {
    return "Broadcast{" + kind + " to " + size() + " servers}";
  }
}
