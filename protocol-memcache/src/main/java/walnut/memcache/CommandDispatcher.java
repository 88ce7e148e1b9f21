package walnut.memcache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import walnut.core.spi.Request;

/**
 * Turns one complete command line into what the decoder does next, checking it as memcached 1.6.18
 * does: the command's token count ({@code ERROR} when wrong, memcached's {@code WANT_TOKENS}),
 * the key's length ({@code CLIENT_ERROR bad command line format} past 250 bytes), and every
 * argument a server would refuse in a way that breaks the framing.
 *
 * <p>The invariant behind the checks: a forwarded request gets exactly one reply from memcached
 * (none with {@code noreply}), so replies keep matching requests by position on a shared backend
 * connection. A storage command memcached refused would have its data block read as commands, so
 * everything memcached checks before reading the data is checked here first. {@code noreply} is
 * decided as memcached decides it: the last token is exactly {@code noreply} (its
 * {@code set_noreply_maybe}); memcached then says nothing, not even an error, and nor does the
 * proxy.
 *
 * <p>The result is left in {@link #outcome}, {@link #request} and {@link #dataLength}. One per
 * decoder, confined to its event loop.
 */
final class CommandDispatcher {

  /** What the decoder does with the line. */
  enum Outcome {
    /** Emit {@link #request} if there is one (a {@code noreply} error has none). */
    EMIT,
    /** Wait for the data block, then call {@link #complete}. */
    DATA,
    /** Emit {@link #request} if there is one, then skip the data block without keeping it. */
    SWALLOW,
    /** Emit {@link #request}, a protocol error, and ignore the rest of the connection. */
    CLOSE
  }

  static final int MAX_KEY = 250;

  private static final byte[] NOREPLY = Replies.bytes("noreply");
  /**
   * Commands memcached knows and Walnut does not forward whose {@code noreply} memcached honours:
   * it then writes nothing, so neither may Walnut, or every later reply would shift by one.
   */
  private static final byte[][] SILENT_WITH_NOREPLY = {
      Replies.bytes("flush_all"), Replies.bytes("verbosity"), Replies.bytes("cache_memlimit")};
  private static final byte[] ZERO = {'0'};

  private final CommandLine line = new CommandLine();
  private final MetaCommands meta = new MetaCommands();
  private long maxData;

  Outcome outcome;
  Request request;
  /** The data block's length, CRLF excluded, for {@link Outcome#DATA} and {@link Outcome#SWALLOW}. */
  long dataLength;

  /** The storage command waiting for its data block, and whether it said {@code noreply}. */
  private MemcacheCommand pending;
  private boolean pendingNoreply;

  /** {@code maxData}: the largest data block forwarded; larger ones are too large for cache. */
  CommandDispatcher(long maxData) {
    this.maxData = maxData;
  }

  /** A reload changed the limit: it applies from the next command line. */
  void maxData(long maxData) {
    this.maxData = maxData;
  }

  /** Decides about the line at absolute [{@code start}, {@code lf}] of {@code in}. */
  void dispatch(ByteBufAllocator alloc, ByteBuf in, int start, int lf) {
    outcome = Outcome.EMIT;
    request = null;
    dataLength = 0;
    line.parse(in, start, lf);
    int frameLength = lf + 1 - start;
    MemcacheCommand command = line.count() == 0 || line.length(0) < 2 ? null
        : MemcacheCommand.lookup(in, start + line.start(0), line.length(0));
    if (command == null) {
      if (!silentWithNoreply(in, start)) {
        request = Request.local(Replies.error(alloc));
      }
      return;
    }
    switch (command.kind) {
      case RETRIEVAL -> retrieval(alloc, in, start, frameLength, command);
      case STORAGE -> storage(alloc, in, start, command);
      case DELETE -> delete(alloc, in, start, frameLength);
      case KEY_AND_ARGUMENT -> keyAndArgument(alloc, in, start, frameLength);
      case VERSION -> request = Request.keyless(in.retainedSlice(start, frameLength));
      case QUIT -> request = Request.localThenClose(Replies.empty(alloc));
      case META -> meta(alloc, in, start, frameLength, command);
      case META_SET -> metaSet(alloc, in, start);
      case META_NOOP -> request = Request.local(Replies.metaNoop(alloc));
      case META_DEBUG -> metaDebug(alloc, in, start, frameLength);
    }
  }

  /**
   * The request for the storage command whose line was dispatched with {@link Outcome#DATA}, now
   * that its {@code total} bytes (line, data block, CRLF) are at absolute {@code start}.
   */
  Request complete(ByteBufAllocator alloc, ByteBuf in, int start, int lineLength, int total) {
    if (pending == MemcacheCommand.MS) {
      return meta.request(alloc, in, start, line, pending, lineLength, total);
    }
    // The slice keeps the read buffer alive until the engine releases the request.
    ByteBuf frame = in.retainedSlice(start, total);
    return pendingNoreply ? Request.routedNoReply(frame, line.start(1), line.length(1))
        : Request.routed(frame, line.start(1), line.length(1));
  }

  /** get, gets: {@code <key>+}; gat, gats: {@code <exptime> <key>*}. */
  private void retrieval(ByteBufAllocator alloc, ByteBuf in, int start, int frameLength,
      MemcacheCommand command) {
    int n = line.count();
    int first = command.firstKey();
    if (n < 2) {
      request = Request.local(Replies.error(alloc));
    } else if (first == 2 && !isSigned(in, start, 1)) {
      request = Request.local(Replies.line(alloc, Replies.BAD_EXPTIME));
    } else if (n == first) {
      request = Request.local(Replies.end(alloc)); // gat with no key: memcached answers END
    } else if (line.longestFrom(first) > MAX_KEY) {
      request = Request.local(Replies.line(alloc, Replies.BAD_FORMAT));
    } else {
      ByteBuf frame = in.retainedSlice(start, frameLength);
      request = n - first == 1 ? Request.routed(frame, line.start(first), line.length(first))
          : Request.split(frame, MultiGetSplitter.INSTANCE);
    }
  }

  /** {@code <cmd> <key> <flags> <exptime> <bytes> [<cas unique>] [noreply]}. */
  private void storage(ByteBufAllocator alloc, ByteBuf in, int start, MemcacheCommand command) {
    int n = line.count();
    int args = command == MemcacheCommand.CAS ? 6 : 5;
    if (n != args && n != args + 1) {
      request = Request.local(Replies.error(alloc)); // memcached then reads the data as commands
      return;
    }
    boolean noreply = line.is(in, start, n - 1, NOREPLY);
    long length = length(in, start, 4);
    if (length < 0) {
      close(alloc, Replies.BAD_FORMAT);
      return;
    }
    boolean valid = line.length(1) <= MAX_KEY && isUnsigned(in, start, 2) && isSigned(in, start, 3)
        && (command != MemcacheCommand.CAS || isUnsigned(in, start, 5));
    String error = !valid ? Replies.BAD_FORMAT : length > maxData ? Replies.TOO_LARGE : null;
    if (error != null) {
      swallow(noreply ? null : Replies.line(alloc, error), length);
      return;
    }
    expectData(command, noreply, length);
  }

  /** {@code delete <key> [0] [noreply]}: memcached still takes the old zero hold time. */
  private void delete(ByteBufAllocator alloc, ByteBuf in, int start, int frameLength) {
    int n = line.count();
    if (n < 2 || n > 4) {
      request = Request.local(Replies.error(alloc));
      return;
    }
    boolean noreply = n > 2 && line.is(in, start, n - 1, NOREPLY);
    if (n > 2) {
      boolean zero = line.is(in, start, 2, ZERO);
      if (n == 3 ? !zero && !noreply : !zero || !noreply) {
        answer(alloc, noreply, Replies.DELETE_USAGE);
        return;
      }
    }
    keyed(alloc, in, start, frameLength, noreply);
  }

  /** incr, decr, touch: {@code <key> <value> [noreply]}; the value is the server's to judge. */
  private void keyAndArgument(ByteBufAllocator alloc, ByteBuf in, int start, int frameLength) {
    int n = line.count();
    if (n != 3 && n != 4) {
      request = Request.local(Replies.error(alloc));
      return;
    }
    keyed(alloc, in, start, frameLength, line.is(in, start, n - 1, NOREPLY));
  }

  private void keyed(ByteBufAllocator alloc, ByteBuf in, int start, int frameLength,
      boolean noreply) {
    if (line.length(1) > MAX_KEY) {
      answer(alloc, noreply, Replies.BAD_FORMAT);
      return;
    }
    ByteBuf frame = in.retainedSlice(start, frameLength);
    request = noreply ? Request.routedNoReply(frame, line.start(1), line.length(1))
        : Request.routed(frame, line.start(1), line.length(1));
  }

  /** mg, md, ma: {@code <key> <flag>*}. */
  private void meta(ByteBufAllocator alloc, ByteBuf in, int start, int frameLength,
      MemcacheCommand command) {
    int n = line.count();
    if (n < 2) {
      request = Request.local(Replies.error(alloc));
      return;
    }
    String error = line.length(1) > MAX_KEY ? Replies.BAD_FORMAT
        : n > MetaCommands.MAX_TOKENS ? flagsTooLong(command)
        : meta.check(in, start, line, command, 2);
    request = error != null ? Request.local(Replies.line(alloc, error))
        : meta.request(alloc, in, start, line, command, frameLength, frameLength);
  }

  /**
   * {@code ms <key> <datalen> <flag>*}. memcached swallows the data after an error in the flags,
   * but reads it as commands after an error in the key, the flag count or the length; the proxy
   * swallows it whenever the length is valid, and closes when it is not.
   */
  private void metaSet(ByteBufAllocator alloc, ByteBuf in, int start) {
    int n = line.count();
    if (n < 2) {
      request = Request.local(Replies.error(alloc));
      return;
    }
    if (n == 2) {
      request = Request.local(Replies.line(alloc, Replies.BAD_FORMAT)); // no length: no data
      return;
    }
    long length = length(in, start, 2);
    String error = line.length(1) > MAX_KEY ? Replies.BAD_FORMAT
        : n > MetaCommands.MAX_TOKENS ? flagsTooLong(MemcacheCommand.MS)
        : length < 0 ? Replies.BAD_FORMAT
        : meta.check(in, start, line, MemcacheCommand.MS, 3);
    if (length < 0) {
      close(alloc, error);
    } else if (error != null || length > maxData) {
      swallow(Replies.line(alloc, error != null ? error : Replies.TOO_LARGE), length);
    } else {
      expectData(MemcacheCommand.MS, false, length);
    }
  }

  private void metaDebug(ByteBufAllocator alloc, ByteBuf in, int start, int frameLength) {
    request = line.count() < 2 || line.length(1) > MAX_KEY ? null
        : meta.debug(alloc, in, start, line, frameLength);
    if (request == null) {
      request = Request.local(Replies.line(alloc, Replies.BAD_FORMAT));
    }
  }

  private boolean isSigned(ByteBuf in, int start, int token) {
    int from = start + line.start(token);
    return Numbers.isSigned(in, from, from + line.length(token));
  }

  private boolean isUnsigned(ByteBuf in, int start, int token) {
    int from = start + line.start(token);
    return Numbers.isUnsigned(in, from, from + line.length(token));
  }

  private long length(ByteBuf in, int start, int token) {
    int from = start + line.start(token);
    return Numbers.length(in, from, from + line.length(token));
  }

  private static String flagsTooLong(MemcacheCommand command) {
    return command == MemcacheCommand.MG ? "CLIENT_ERROR options flags are too long"
        : "CLIENT_ERROR options flags too long";
  }

  /** {@code flush_all … noreply} and the like: not forwarded, and nothing to answer. */
  private boolean silentWithNoreply(ByteBuf in, int start) {
    int n = line.count();
    if (n < 2 || n > CommandLine.TRACKED || !line.is(in, start, n - 1, NOREPLY)) {
      return false;
    }
    for (byte[] command : SILENT_WITH_NOREPLY) {
      if (line.is(in, start, 0, command)) {
        return true;
      }
    }
    return false;
  }

  /** A local error, unless the command said {@code noreply}: then memcached says nothing. */
  private void answer(ByteBufAllocator alloc, boolean noreply, String error) {
    if (!noreply) {
      request = Request.local(Replies.line(alloc, error));
    }
  }

  private void expectData(MemcacheCommand command, boolean noreply, long length) {
    outcome = Outcome.DATA;
    pending = command;
    pendingNoreply = noreply;
    dataLength = length;
  }

  private void swallow(ByteBuf reply, long length) {
    outcome = Outcome.SWALLOW;
    request = reply == null ? null : Request.local(reply);
    dataLength = length;
  }

  private void close(ByteBufAllocator alloc, String error) {
    outcome = Outcome.CLOSE;
    request = Request.protocolError(Replies.line(alloc, error));
  }
}
