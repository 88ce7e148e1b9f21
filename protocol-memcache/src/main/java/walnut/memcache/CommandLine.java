package walnut.memcache;

import io.netty.buffer.ByteBuf;

/**
 * The tokens of one command line, cut as memcached's {@code tokenize_command} cuts them, so the
 * proxy reads a line exactly as the server behind it will.
 *
 * <p>memcached's rules: the line ends at its LF, and a CR just before it is dropped unless the CR
 * is the line's only byte; the command string then ends at its first NUL byte (memcached treats it
 * as a C string: whatever follows a NUL is invisible to it); tokens are separated by one or more
 * spaces, and only spaces (a tab is part of a token).
 *
 * <p>Offsets are relative to the line's first byte, which is also the first byte of the frame the
 * decoder forwards, so they are the key offsets a {@link walnut.core.spi.Request} needs. The first
 * {@link #TRACKED} tokens are kept; later ones are only counted and measured (a multi-key
 * retrieval can have thousands, which the splitter walks itself). One per decoder, reused; the
 * tokens of a line stay valid until the next {@link #parse}.
 */
final class CommandLine {

  /** memcached tokenizes at most 23 tokens at once; every command but retrieval has fewer. */
  static final int TRACKED = 24;

  private final int[] start = new int[TRACKED];
  private final int[] end = new int[TRACKED];
  /** Tokens on the line, all of them. */
  private int count;
  /** The longest token from index 1 on, and from index 2 on: the key limits of get and gat. */
  private int longestFrom1;
  private int longestFrom2;

  /** Tokenizes the line whose first byte is at absolute {@code lineStart} and LF at {@code lf}. */
  void parse(ByteBuf buf, int lineStart, int lf) {
    count = 0;
    longestFrom1 = 0;
    longestFrom2 = 0;
    int to = contentEnd(buf, lineStart, lf);
    int tokenStart = -1;
    for (int i = lineStart; i < to; i++) {
      if (buf.getByte(i) == ' ') {
        if (tokenStart >= 0) {
          add(tokenStart - lineStart, i - lineStart);
          tokenStart = -1;
        }
      } else if (tokenStart < 0) {
        tokenStart = i;
      }
    }
    if (tokenStart >= 0) {
      add(tokenStart - lineStart, to - lineStart);
    }
  }

  /**
   * Where memcached's command string ends for the line at [{@code lineStart}, {@code lf}]: before
   * a CR that precedes the LF (unless the line is just that CR), or at the first NUL.
   */
  static int contentEnd(ByteBuf buf, int lineStart, int lf) {
    int to = lf - lineStart > 1 && buf.getByte(lf - 1) == '\r' ? lf - 1 : lf;
    int nul = buf.indexOf(lineStart, to, (byte) 0);
    return nul < 0 ? to : nul;
  }

  private void add(int from, int to) {
    if (count < TRACKED) {
      start[count] = from;
      end[count] = to;
    }
    int length = to - from;
    if (count >= 1) {
      longestFrom1 = Math.max(longestFrom1, length);
    }
    if (count >= 2) {
      longestFrom2 = Math.max(longestFrom2, length);
    }
    count++;
  }

  /** How many tokens the line has, the command included. */
  int count() {
    return count;
  }

  /** Offset of token {@code i} ({@code < TRACKED}) from the line's first byte. */
  int start(int i) {
    return start[i];
  }

  int length(int i) {
    return end[i] - start[i];
  }

  /** The length of the longest token at index {@code first} (1 or 2) or later. */
  int longestFrom(int first) {
    return first == 1 ? longestFrom1 : longestFrom2;
  }

  /** Whether token {@code i} of the line at absolute {@code base} is exactly {@code word}. */
  boolean is(ByteBuf buf, int base, int i, byte[] word) {
    if (length(i) != word.length) {
      return false;
    }
    int at = base + start[i];
    for (int j = 0; j < word.length; j++) {
      if (buf.getByte(at + j) != word[j]) {
        return false;
      }
    }
    return true;
  }

  /** The first byte of token {@code i}. */
  byte first(ByteBuf buf, int base, int i) {
    return buf.getByte(base + start[i]);
  }
}
