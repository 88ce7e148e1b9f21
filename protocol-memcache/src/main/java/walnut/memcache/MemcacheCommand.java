package walnut.memcache;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/**
 * The commands the proxy serves, by their exact (lower-case) names. Anything else, memcached's
 * administrative commands included ({@code stats}, {@code flush_all}, {@code verbosity}, …), is
 * answered {@code ERROR} as an unknown command: they address one server, not the pool.
 */
enum MemcacheCommand {
  GET("get", Kind.RETRIEVAL),
  GETS("gets", Kind.RETRIEVAL),
  GAT("gat", Kind.RETRIEVAL),
  GATS("gats", Kind.RETRIEVAL),
  SET("set", Kind.STORAGE),
  ADD("add", Kind.STORAGE),
  REPLACE("replace", Kind.STORAGE),
  APPEND("append", Kind.STORAGE),
  PREPEND("prepend", Kind.STORAGE),
  CAS("cas", Kind.STORAGE),
  DELETE("delete", Kind.DELETE),
  INCR("incr", Kind.KEY_AND_ARGUMENT),
  DECR("decr", Kind.KEY_AND_ARGUMENT),
  TOUCH("touch", Kind.KEY_AND_ARGUMENT),
  VERSION("version", Kind.VERSION),
  QUIT("quit", Kind.QUIT),
  MG("mg", Kind.META),
  MS("ms", Kind.META_SET),
  MD("md", Kind.META),
  MA("ma", Kind.META),
  MN("mn", Kind.META_NOOP),
  ME("me", Kind.META_DEBUG);

  /** How a command is framed and checked. */
  enum Kind {
    RETRIEVAL, STORAGE, DELETE, KEY_AND_ARGUMENT, VERSION, QUIT, META, META_SET, META_NOOP,
    META_DEBUG
  }

  private static final MemcacheCommand[] ALL = values();

  final Kind kind;
  private final byte[] name;
  /** The name, for metrics labelled by command. */
  final String text;

  MemcacheCommand(String name, Kind kind) {
    this.name = name.getBytes(StandardCharsets.US_ASCII);
    this.text = name;
    this.kind = kind;
  }

  /**
   * The command of a request frame (its first word, after any spaces, up to a space or the line's
   * end), or null.
   * Reads only within the frame's readable bytes.
   */
  static MemcacheCommand of(ByteBuf frame) {
    int start = frame.readerIndex();
    while (start < frame.writerIndex() && frame.getByte(start) == ' ') {
      start++; // memcached takes "  get k" as get, and so does the decoder
    }
    int end = Math.min(frame.writerIndex(), start + 8); // longer than any name
    int i = start;
    while (i < end && frame.getByte(i) != ' ' && frame.getByte(i) != '\r') {
      i++;
    }
    return lookup(frame, start, i - start);
  }

  /** The token at which keys start: 2 for {@code gat}/{@code gats}, after the exptime. */
  int firstKey() {
    return this == GAT || this == GATS ? 2 : 1;
  }

  /** The command named by {@code buf[index, index + length)}, case-sensitively, or null. */
  static MemcacheCommand lookup(ByteBuf buf, int index, int length) {
    for (MemcacheCommand c : ALL) {
      if (c.name.length == length && c.matches(buf, index)) {
        return c;
      }
    }
    return null;
  }

  private boolean matches(ByteBuf buf, int index) {
    for (int i = 0; i < name.length; i++) {
      if (buf.getByte(index + i) != name[i]) {
        return false;
      }
    }
    return true;
  }
}
