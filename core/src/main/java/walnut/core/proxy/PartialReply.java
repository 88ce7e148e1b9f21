package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import walnut.core.spi.Protocol;
import walnut.core.spi.Splitter;

/**
 * The reply of a split request some of whose fragments failed, in a pool with
 * {@code mget_partial_errors} (docs/compatibility.md#failure-modes): each failed fragment's keys
 * get its error, in the protocol's form, the others their values. When every fragment failed, or
 * the command has no place for an error per key (a count, an OK), one error answers the whole
 * request, as without the key: the first failure's.
 */
final class PartialReply {

  private PartialReply() {}

  /**
   * {@code parts[i]} is fragment {@code i}'s reply, or {@code null} where {@code errors[i]} says
   * why it failed. Reads and releases none of them; the caller owns the result.
   */
  static ByteBuf merge(Splitter.Split split, ByteBuf[] parts, String[] errors, Protocol protocol,
      ByteBufAllocator alloc) {
    String first = null;
    int failed = 0;
    for (String e : errors) {
      if (e != null) {
        first = first == null ? e : first;
        failed++;
      }
    }
    if (failed == parts.length) {
      return protocol.errorReply(alloc, first);
    }
    ByteBuf[] replies = new ByteBuf[errors.length];
    try {
      for (int i = 0; i < errors.length; i++) {
        replies[i] = errors[i] == null ? null : protocol.errorReply(alloc, errors[i]);
      }
      ByteBuf merged = split.mergePartial(parts, replies, alloc);
      return merged != null ? merged : protocol.errorReply(alloc, first);
    } finally {
      for (ByteBuf r : replies) {
        ReferenceCountUtil.safeRelease(r);
      }
    }
  }
}
