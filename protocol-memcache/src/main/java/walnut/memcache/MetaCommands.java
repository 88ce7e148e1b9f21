package walnut.memcache;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import walnut.core.spi.Request;

/**
 * The meta commands' flags: memcached's checks of them, the base64 key ({@code b}) and quiet mode
 * ({@code q}).
 *
 * <p>The proxy checks what it needs to route and frame a meta request, and what memcached refuses
 * about the flags' letters, answering in memcached 1.6.18's words (which differ per command):
 * a first byte outside memcached's flag set is {@code CLIENT_ERROR invalid flag}, a repeated one
 * (or one above 126) {@code CLIENT_ERROR duplicate flag}, a key {@code b} cannot decode {@code
 * CLIENT_ERROR error decoding key}; {@code md} and {@code ma} say {@code CLIENT_ERROR invalid or
 * duplicate flag} for all three. The flags' values ({@code T30}, {@code Oopaque}, {@code MS}, …)
 * are the server's to judge: they are passed through unchanged, as is every flag but {@code q}.
 *
 * <p>Quiet mode: the {@code q} token is removed from the forwarded command (the line is rebuilt,
 * tokens joined by single spaces, the data block of {@code ms} kept as a slice) and the request
 * carries a {@link QuietFilter}, so the server always answers and replies keep matching requests
 * by position. A base64 key is hashed decoded, through {@link Request#routedByKey}.
 *
 * <p>One per decoder, confined to its event loop: what {@link #check} learns about a command (its
 * {@code q} token, its decoded key) is kept until {@link #request} builds it, which for {@code ms}
 * is after its data block has arrived.
 */
final class MetaCommands {

  /** memcached refuses more tokens than this (its {@code MFLAG_MAX_OPT_LENGTH}, 20 with the end). */
  static final int MAX_TOKENS = 19;

  static final String INVALID_FLAG = "CLIENT_ERROR invalid flag";
  static final String DUPLICATE_FLAG = "CLIENT_ERROR duplicate flag";
  static final String BAD_KEY = "CLIENT_ERROR error decoding key";
  static final String INVALID_OR_DUPLICATE = "CLIENT_ERROR invalid or duplicate flag";

  /** The flags memcached 1.6.18 knows, by their first byte; the same set for mg, ms, md, ma. */
  private static final boolean[] KNOWN = new boolean[128];
  private static final byte[] B = {'b'};

  static {
    for (char c : "bcfhklqstuvCDFIJLMNOPRT".toCharArray()) {
      KNOWN[c] = true;
    }
  }

  private final byte[] decoded = new byte[Base64Key.MAX_DECODED];
  /** Bytes of the checked command's decoded key, or 0 when its key is not base64. */
  private int decodedLength;
  /** The index of the checked command's {@code q} token, or -1. */
  private int quietToken;

  /**
   * Checks the flags of {@code mg ms md ma} from token {@code first} on (the line has at most
   * {@link #MAX_TOKENS}), in memcached's order; returns memcached's error line, or null.
   */
  String check(ByteBuf in, int base, CommandLine line, MemcacheCommand command, int first) {
    boolean plainWords = command == MemcacheCommand.MG || command == MemcacheCommand.MS;
    quietToken = -1;
    decodedLength = 0;
    boolean badKey = false;
    long seenLow = 0;
    long seenHigh = 0;
    for (int i = first; i < line.count(); i++) {
      int flag = line.first(in, base, i) & 0xff;
      long bit = 1L << (flag & 63);
      boolean seen = flag < 64 ? (seenLow & bit) != 0 : (seenHigh & bit) != 0;
      if (flag >= 127 || seen) {
        return plainWords ? DUPLICATE_FLAG : INVALID_OR_DUPLICATE;
      }
      if (flag < 64) {
        seenLow |= bit;
      } else {
        seenHigh |= bit;
      }
      if (!KNOWN[flag]) {
        return plainWords ? INVALID_FLAG : INVALID_OR_DUPLICATE;
      }
      if (flag == 'q') {
        quietToken = i;
      } else if (flag == 'b') {
        decodedLength = decodeKey(in, base, line);
        badKey = decodedLength == 0;
      }
    }
    if (badKey) {
      return plainWords ? BAD_KEY : INVALID_OR_DUPLICATE;
    }
    return null;
  }

  /**
   * The request for a checked {@code mg ms md ma} whose frame is {@code total} bytes at absolute
   * {@code base} of {@code in}, the command line being the first {@code lineLength} of them.
   */
  Request request(ByteBufAllocator alloc, ByteBuf in, int base, CommandLine line,
      MemcacheCommand command, int lineLength, int total) {
    QuietFilter filter = quietToken < 0 ? null : switch (command) {
      case MG -> QuietFilter.MISS;
      case MA -> QuietFilter.ARITHMETIC_SUCCESS;
      default -> QuietFilter.SUCCESS;
    };
    ByteBuf key = null;
    ByteBuf frame = null;
    try {
      if (decodedLength > 0) {
        // Released by the engine once the request is routed.
        key = alloc.buffer(decodedLength).writeBytes(decoded, 0, decodedLength);
      }
      int keyIndex;
      if (quietToken < 0) {
        // The slice keeps the read buffer alive until the engine releases the request.
        frame = in.retainedSlice(base, total);
        keyIndex = line.start(1);
      } else {
        frame = withoutToken(alloc, in, base, line, quietToken, lineLength, total);
        keyIndex = line.length(0) + 1;
      }
      if (key != null) {
        return Request.routedByKey(frame, key, filter);
      }
      return filter == null ? Request.routed(frame, keyIndex, line.length(1))
          : Request.routedQuiet(frame, keyIndex, line.length(1), filter);
    } catch (RuntimeException | Error e) {
      release(key);
      release(frame);
      throw e;
    }
  }

  /**
   * {@code me <key> [b]}: memcached reads only its third token, and only when it is exactly
   * {@code b}; its errors all read {@code CLIENT_ERROR bad command line format}. Returns null when
   * the key cannot be decoded.
   */
  Request debug(ByteBufAllocator alloc, ByteBuf in, int base, CommandLine line, int frameLength) {
    if (line.count() >= 3 && line.is(in, base, 2, B)) {
      int n = decodeKey(in, base, line);
      if (n == 0) {
        return null;
      }
      // Released by the engine once the request is routed.
      ByteBuf key = alloc.buffer(n).writeBytes(decoded, 0, n);
      return Request.routedByKey(in.retainedSlice(base, frameLength), key, null);
    }
    return Request.routed(in.retainedSlice(base, frameLength), line.start(1), line.length(1));
  }

  private int decodeKey(ByteBuf in, int base, CommandLine line) {
    int from = base + line.start(1);
    return Base64Key.decode(in, from, from + line.length(1), decoded);
  }

  /** The command line without token {@code skip}, then the data block (a slice) if any. */
  private static ByteBuf withoutToken(ByteBufAllocator alloc, ByteBuf in, int base,
      CommandLine line, int skip, int lineLength, int total) {
    int size = 2;
    for (int i = 0; i < line.count(); i++) {
      if (i != skip) {
        size += line.length(i) + (i == 0 ? 0 : 1);
      }
    }
    ByteBuf rebuilt = alloc.buffer(size);
    for (int i = 0; i < line.count(); i++) {
      if (i != skip) {
        if (i > 0) {
          rebuilt.writeByte(' ');
        }
        rebuilt.writeBytes(in, base + line.start(i), line.length(i));
      }
    }
    rebuilt.writeByte('\r').writeByte('\n');
    if (total == lineLength) {
      return rebuilt;
    }
    ByteBuf data = null;
    try {
      // The data block stays a slice of the read buffer, owned by the composite from here.
      data = in.retainedSlice(base + lineLength, total - lineLength);
      return alloc.compositeBuffer(2).addComponents(true, rebuilt, data);
    } catch (RuntimeException | Error e) {
      rebuilt.release();
      release(data);
      throw e;
    }
  }

  private static void release(ByteBuf buf) {
    if (buf != null) {
      buf.release();
    }
  }
}
