package walnut.memcache;

import io.netty.buffer.ByteBuf;
import walnut.core.spi.Request;

/**
 * What memcached's quiet mode (meta flag {@code q}, "noreply semantics for return codes") leaves
 * out, per command. The proxy never forwards {@code q}: the server always answers, so replies keep
 * matching requests by position, and the client's {@link Request#routedQuiet quiet request} drops
 * the reply a quiet server would not have sent.
 *
 * <p>Asked of memcached 1.6.18 (and read in its {@code proto_text.c}): {@code mg} hides only the
 * miss ({@code EN}), hits ({@code VA}, {@code HD}) still come; {@code ms} hides {@code HD} and
 * still sends {@code NS EX NF}; {@code md} hides {@code HD} and still sends {@code NF EX};
 * {@code ma} hides its success, {@code HD} or, with {@code v}, {@code VA}, and still sends
 * {@code NF NS EX}. Errors always come. {@code OK} is {@code HD}'s name under memcached's
 * {@code -o meta_response_old}, hidden alike.
 *
 * <p>One difference cannot be avoided: {@code ma} with {@code q} and {@code N} (create on miss)
 * gets a reply from memcached when it created the item, which looks exactly like a successful
 * increment; the proxy drops both.
 */
enum QuietFilter implements Request.ReplyFilter {

  /** {@code mg}: a miss. */
  MISS {
    @Override
    public boolean suppress(ByteBuf reply) {
      return code(reply, 'E', 'N');
    }
  },
  /** {@code ms}, {@code md}: the nominal success. */
  SUCCESS {
    @Override
    public boolean suppress(ByteBuf reply) {
      return code(reply, 'H', 'D') || code(reply, 'O', 'K');
    }
  },
  /** {@code ma}: success, with or without the value. */
  ARITHMETIC_SUCCESS {
    @Override
    public boolean suppress(ByteBuf reply) {
      return code(reply, 'H', 'D') || code(reply, 'O', 'K') || code(reply, 'V', 'A');
    }
  };

  /** Whether {@code reply} starts with the two-letter code {@code a b} and a space or CR. */
  private static boolean code(ByteBuf reply, char a, char b) {
    int i = reply.readerIndex();
    if (reply.writerIndex() - i < 3) {
      return false;
    }
    byte after = reply.getByte(i + 2);
    return reply.getByte(i) == a && reply.getByte(i + 1) == b && (after == ' ' || after == '\r');
  }
}
