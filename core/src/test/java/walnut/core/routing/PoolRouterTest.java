package walnut.core.routing;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;
import walnut.core.spi.KeyRouter;

class PoolRouterTest {

  private final AtomicLong now = new AtomicLong(1_000_000);

  private PoolRouter router(int servers, boolean eject, String tag) {
    PoolConfig.Builder b = PoolConfig.builder("p").listen(Endpoint.tcp("127.0.0.1", 1))
        .redis(true).autoEjectHosts(eject).serverFailureLimit(2).serverRetryTimeout(5_000)
        .hashTag(tag);
    for (int i = 0; i < servers; i++) {
      b.server(ServerConfig.of(Endpoint.tcp("10.0.0." + i, 6379), 1));
    }
    return new PoolRouter(b.build(), TestRouting.FIRST_BYTE, TestRouting.MODULO, now::get);
  }

  private static int route(PoolRouter router, String key) {
    ByteBuf buf = Unpooled.copiedBuffer("xx" + key, US_ASCII);
    return router.serverFor(buf, 2, key.length());
  }

  @Test
  void emptyKeyHashesToZeroWithoutCallingTheHash() {
    PoolRouter router = router(3, false, null);
    assertEquals(0, route(router, ""));
  }

  @Test
  void oneServerPoolsSkipHashing() {
    PoolRouter router = router(1, false, null);
    assertEquals(0, route(router, "\u0005"));
  }

  @Test
  void hashTagRoutesByTheTag() {
    PoolRouter router = router(3, false, "{}");
    assertEquals(route(router, "\u0002"), route(router, "zzz{\u0002}"));
    assertEquals(2, route(router, "a{\u0002}b"));
  }

  @Test
  void ejectionAfterTheFailureLimitRemovesTheServerAndRetryPutsItBack() {
    PoolRouter router = router(3, true, null);
    assertEquals(1, route(router, "\u0001"));
    assertFalse(router.recordFailure(1), "one failure is below the limit");
    router.recordSuccess(1); // a reply resets the run of failures
    assertFalse(router.recordFailure(1));
    assertTrue(router.recordFailure(1), "the second consecutive failure ejects");
    assertFalse(router.isLive(1));
    // Two live servers remain (pool indexes 0 and 2): hash 1 -> slot 1 -> server 2.
    assertEquals(2, route(router, "\u0001"));
    now.addAndGet(4_999);
    assertEquals(2, route(router, "\u0001"));
    now.addAndGet(1);
    assertEquals(1, route(router, "\u0001"), "back in the ring after server_retry_timeout");
  }

  @Test
  void withoutAutoEjectFailuresChangeNothing() {
    PoolRouter router = router(3, false, null);
    for (int i = 0; i < 10; i++) {
      assertFalse(router.recordFailure(1));
    }
    assertEquals(1, route(router, "\u0001"));
  }

  @Test
  void noLiveServerRoutesNowhere() {
    PoolRouter router = router(2, true, null);
    router.recordFailure(0);
    router.recordFailure(0);
    router.recordFailure(1);
    router.recordFailure(1);
    assertEquals(KeyRouter.NO_SERVER, route(router, "\u0001"));
  }
}
