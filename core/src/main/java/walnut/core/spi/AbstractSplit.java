package walnut.core.spi;

import io.netty.buffer.ByteBuf;

/**
 * The bookkeeping every {@link Splitter.Split} shares: one fragment buffer per server, handed out
 * once each, the rest released by {@link #discard()}. A protocol's split adds only its merge.
 */
public abstract class AbstractSplit implements Splitter.Split {

  /** The server of each fragment, in fragment order. */
  protected final int[] servers;
  private final ByteBuf[] fragments;

  /** Takes ownership of {@code fragments}, one per entry of {@code servers}. */
  protected AbstractSplit(int[] servers, ByteBuf[] fragments) {
    if (servers.length != fragments.length) {
      throw new IllegalArgumentException("servers: " + servers.length + ", fragments: "
          + fragments.length + " (expected: as many)");
    }
    this.servers = servers;
    this.fragments = fragments;
  }

  @Override
  public final int size() {
    return servers.length;
  }

  @Override
  public final int server(int i) {
    return servers[i];
  }

  @Override
  public final ByteBuf fragment(int i) {
    ByteBuf f = fragments[i];
    if (f == null) {
      throw new IllegalStateException("fragment " + i + " was already taken");
    }
    fragments[i] = null;
    return f;
  }

  @Override
  public final void discard() {
    for (int i = 0; i < fragments.length; i++) {
      if (fragments[i] != null) {
        fragments[i].release();
        fragments[i] = null;
      }
    }
  }

  /** Fails unless there is one reply per fragment. */
  protected final void checkReplyCount(ByteBuf[] replies) {
    if (replies.length != servers.length) {
      throw new IllegalArgumentException(
          "replies: " + replies.length + " (expected: " + servers.length + ")");
    }
  }
}
