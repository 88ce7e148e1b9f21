package walnut.benchmarks;

import io.netty.channel.ChannelHandlerContext;
import walnut.core.routing.PoolRouter;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;

/**
 * A {@link Sink} that routes each request as the engine's client session does before forwarding
 * it: a keyed request's key through the pool's hash and continuum, a multi-key request split into
 * per-server fragments (released here, where a backend connection would write them), and then
 * drops the request.
 */
final class RoutingSink extends Sink {

  private final PoolRouter router;

  RoutingSink(PoolRouter router) {
    this.router = router;
  }

  @Override
  void consume(ChannelHandlerContext ctx, Request request) {
    try {
      switch (request.kind()) {
        case ROUTED -> blackhole.consume(request.hasKey()
            ? router.serverFor(request.frame(), request.keyIndex(), request.keyLength())
            : router.serverForKeyless());
        case SPLIT -> {
          Splitter.Split split = request.splitter().split(request.frame(), router, ctx.alloc());
          for (int i = 0; i < split.size(); i++) {
            blackhole.consume(split.server(i));
            split.fragment(i).release();
          }
        }
        case LOCAL -> throw new IllegalStateException("unexpected local reply: " + request);
      }
    } finally {
      request.release();
      request.recycle();
    }
  }
}
