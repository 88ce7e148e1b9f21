package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import walnut.core.spi.KeyRouter;

/**
 * The pool as a {@link walnut.core.spi.Splitter} sees it: its router's key placement, and what a
 * request addressed to every server (or to one by index) needs to know: the servers, their
 * names and state, and the proxy's clients and start time. One per pool generation, shared by
 * every event loop; allocation-free except for names already held.
 */
final class PoolView implements KeyRouter {

  private final Pool pool;

  PoolView(Pool pool) {
    this.pool = pool;
  }

  @Override
  public int serverFor(ByteBuf buf, int offset, int length) {
    return pool.router().serverFor(buf, offset, length);
  }

  @Override
  public int servers() {
    return pool.config().servers().size();
  }

  @Override
  public String serverName(int server) {
    return pool.serverName(server);
  }

  @Override
  public String refusal(int server) {
    return pool.router().refusal(server);
  }

  @Override
  public boolean live(int server) {
    return pool.router().isLive(server);
  }

  @Override
  public String poolName() {
    return pool.config().name();
  }

  @Override
  public long connectedClients() {
    return pool.stats().currentConnections();
  }

  @Override
  public long startedMillis() {
    return pool.stats().startMillis();
  }
}
