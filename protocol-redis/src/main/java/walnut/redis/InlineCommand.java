package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Inline commands ({@code PING\r\n}, typed into telnet or sent by health checks): splits a line
 * into arguments and rebuilds it as a RESP array, since servers are sent RESP.
 *
 * <p>Implementation note: Redis splits inline lines with {@code sdssplitargs}; this follows it
 * rule for rule so a line means here what it means to Redis: arguments separated by white space;
 * {@code "…"} with the escapes {@code \n \r \t \b \a \xHH} and {@code \<c>}; {@code '…'} with only
 * {@code \'}; a closing quote must be followed by white space or the end; an unclosed quote is an
 * error; a NUL byte ends the line, as it ends Redis's C string. Inline commands are rare, so this
 * favours clarity over allocation.
 */
final class InlineCommand {

  private InlineCommand() {}

  /**
   * The arguments of the line {@code [from, to)} (without its line end), an empty list for a blank
   * line, or {@code null} when its quotes are unbalanced.
   */
  static List<byte[]> split(ByteBuf in, int from, int to) {
    List<byte[]> argv = new ArrayList<>();
    ByteArrayOutputStream current = new ByteArrayOutputStream();
    int p = from;
    for (;;) {
      while (p < to && isSpace(in.getByte(p))) {
        p++;
      }
      if (at(in, p, to) == 0) {
        return argv;
      }
      boolean inDouble = false;
      boolean inSingle = false;
      boolean done = false;
      current.reset();
      while (!done) {
        int c = at(in, p, to);
        if (inDouble) {
          if (c == '\\' && at(in, p + 1, to) == 'x' && isHex(at(in, p + 2, to))
              && isHex(at(in, p + 3, to))) {
            current.write(hex(at(in, p + 2, to)) * 16 + hex(at(in, p + 3, to)));
            p += 3;
          } else if (c == '\\' && at(in, p + 1, to) != 0) {
            p++;
            current.write(unescape(at(in, p, to)));
          } else if (c == '"') {
            if (at(in, p + 1, to) != 0 && !isSpace(at(in, p + 1, to))) {
              return null;
            }
            done = true;
          } else if (c == 0) {
            return null;
          } else {
            current.write(c);
          }
        } else if (inSingle) {
          if (c == '\\' && at(in, p + 1, to) == '\'') {
            p++;
            current.write('\'');
          } else if (c == '\'') {
            if (at(in, p + 1, to) != 0 && !isSpace(at(in, p + 1, to))) {
              return null;
            }
            done = true;
          } else if (c == 0) {
            return null;
          } else {
            current.write(c);
          }
        } else {
          switch (c) {
            case ' ', '\n', '\r', '\t', 0 -> done = true;
            case '"' -> inDouble = true;
            case '\'' -> inSingle = true;
            default -> current.write(c);
          }
        }
        if (at(in, p, to) != 0) {
          p++;
        }
      }
      argv.add(current.toByteArray());
    }
  }

  /** The arguments as a RESP array, noting where the first ones lie in {@code args}. */
  static ByteBuf toResp(ByteBufAllocator alloc, List<byte[]> argv, Args args) {
    int size = Resp.headerSize(argv.size());
    for (byte[] arg : argv) {
      size += Resp.bulkSize(arg.length);
    }
    ByteBuf out = alloc.buffer(size);
    Resp.writeHeader(out, '*', argv.size());
    args.count = argv.size();
    for (int i = 0; i < argv.size(); i++) {
      byte[] arg = argv.get(i);
      Resp.writeHeader(out, '$', arg.length);
      if (i < Args.TRACKED) {
        args.set(i, out.writerIndex(), arg.length);
      }
      out.writeBytes(arg).writeShort(Resp.CRLF);
    }
    return out;
  }

  /** The byte at {@code p}, or 0 past the end, as C's terminator reads. */
  private static int at(ByteBuf in, int p, int to) {
    return p < to ? in.getByte(p) : 0;
  }

  private static boolean isSpace(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0x0b || c == '\f';
  }

  private static boolean isHex(int c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  private static int hex(int c) {
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
  }

  private static int unescape(int c) {
    return switch (c) {
      case 'n' -> '\n';
      case 'r' -> '\r';
      case 't' -> '\t';
      case 'b' -> '\b';
      case 'a' -> 7;
      default -> c;
    };
  }
}
