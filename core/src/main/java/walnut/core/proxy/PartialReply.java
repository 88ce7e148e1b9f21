package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import walnut.core.spi.Protocol;
import walnut.core.spi.Splitter;

/**
 * The reply of a split request in a pool with {@code mget_partial_errors}
 * (docs/compatibility.md#failure-modes): each failed fragment's keys get its error, in the
 * protocol's form, the others their values ({@link Splitter.Split#mergePartial}, which also puts a
 * server's own error reply, such as {@code -LOADING}, in its keys' places). When every fragment
 * failed, or the command has no place for an error per key (a count, an OK), one error answers the
 * whole request, as without the key: the first failure's; unless the split
 * {@link Splitter.Split#mergesFailures merges failures} itself, even every fragment's.
 */
final class PartialReply {

  private PartialReply() {}

  static boolean anyFailed(String[] failures) {
    for (String f : failures) {
      if (f != null) {
        return true;
      }
    }
    return false;
  }

  /**
   * {@code parts[i]} is fragment {@code i}'s reply, or {@code null} where {@code failures[i]} says
   * why it failed. Reads and releases none of them; the caller owns the result.
   */
  static ByteBuf merge(Splitter.Split split, ByteBuf[] parts, String[] failures,
      Protocol protocol, ByteBufAllocator alloc) {
    String first = null;
    int failed = 0;
    for (String f : failures) {
      if (f != null) {
        first = first == null ? f : first;
        failed++;
      }
    }
    if (failed == parts.length && !split.mergesFailures()) {
      return protocol.errorReply(alloc, first);
    }
    ByteBuf[] errors = new ByteBuf[failures.length];
    try {
      for (int i = 0; i < failures.length; i++) {
        errors[i] = failures[i] == null ? null : protocol.errorReply(alloc, failures[i]);
      }
      ByteBuf merged = split.mergePartial(parts, errors, alloc);
      if (merged != null) {
        return merged;
      }
      if (failed > 0) {
        return protocol.errorReply(alloc, first);
      }
      merged = split.merge(parts, alloc); // not a command merged in part: as without the key
      return merged != null ? merged : protocol.errorReply(alloc, ErrorText.INVALID);
    } finally {
      for (ByteBuf e : errors) {
        ReferenceCountUtil.safeRelease(e);
      }
    }
  }
}
