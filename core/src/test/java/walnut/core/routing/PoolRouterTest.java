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
    return router(servers, PoolConfig.builder("p").autoEjectHosts(eject).hashTag(tag));
  }

  private PoolRouter router(int servers, PoolConfig.Builder b) {
    b.listen(Endpoint.tcp("127.0.0.1", 1)).redis(true).serverFailureLimit(2)
        .serverRetryTimeout(5_000);
    for (int i = 0; i < servers; i++) {
      b.server(ServerConfig.of(Endpoint.tcp("10.0.0." + i, 6379), 1));
    }
    return new PoolRouter(b.build(), TestRouting.FIRST_BYTE, TestRouting.MODULO, now::get);
  }

  private static int route(PoolRouter router, String key) {
    ByteBuf buf = Unpooled.copiedBuffer("xx" + key, US_ASCII);
    return router.serverFor(buf, 2, key.length());
  }

  /** Records a router's ejections and returns as text. */
  private static PoolRouter.Watcher recording(java.util.List<String> heard) {
    return new PoolRouter.Watcher() {
      @Override
      public void ejected(int index, String reason) {
        heard.add("ejected " + index + ": " + reason);
      }

      @Override
      public void returned(int index, String how) {
        heard.add("returned " + index + ": " + how);
      }
    };
  }

  @Test
  void theWatcherHearsAnEjectionAndTheLazyReturnAtTheFirstLookupAfterTheRetryTime() {
    PoolRouter router = router(3, true, null);
    java.util.List<String> heard = new java.util.ArrayList<>();
    router.watch(recording(heard));
    router.recordFailure(1, "boom");
    assertEquals(java.util.List.of(), heard, "one failure of two: still in");
    router.recordFailure(1, "boom");
    assertEquals(java.util.List.of("ejected 1: boom"), heard);
    now.addAndGet(4_999);
    route(router, "\u0001");
    assertEquals(1, heard.size(), "not before its retry time");
    now.addAndGet(1);
    route(router, "\u0001");
    assertEquals("returned 1: its retry time came", heard.get(1));
    route(router, "\u0001");
    assertEquals(2, heard.size(), "once");
  }

  @Test
  void theWatcherHearsAReadmissionAsAProbesSuccessAndNothingOfACarriedEjection() {
    PoolRouter router = router(3, PoolConfig.builder("p").autoEjectHosts(true)
        .healthCheckInterval(1_000));
    java.util.List<String> heard = new java.util.ArrayList<>();
    router.watch(recording(heard));
    router.carry(2, new PoolRouter.Ejection(Long.MAX_VALUE, "out"));
    assertEquals(java.util.List.of(), heard, "a reload carries an ejection: nothing new");
    router.readmit(2);
    assertEquals(java.util.List.of("returned 2: a probe succeeded"), heard);
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
    assertFalse(router.recordFailure(1, "Connection refused"), "one failure is below the limit");
    router.recordSuccess(1); // a reply resets the run of failures
    assertFalse(router.recordFailure(1, "Connection refused"));
    assertTrue(router.recordFailure(1, "Connection refused"),
        "the second consecutive failure ejects");
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
      assertFalse(router.recordFailure(1, "Connection refused"));
    }
    assertEquals(1, route(router, "\u0001"));
  }

  @Test
  void noLiveServerRoutesNowhere() {
    PoolRouter router = router(2, true, null);
    router.recordFailure(0, "Connection refused");
    router.recordFailure(0, "Connection refused");
    router.recordFailure(1, "Connection refused");
    router.recordFailure(1, "Connection refused");
    assertEquals(KeyRouter.NO_SERVER, route(router, "\u0001"));
  }

  @Test
  void withoutRemapAnEjectedServerKeepsItsKeysAndIsRefusedUntilItsRetryTime() {
    PoolRouter router = router(3, PoolConfig.builder("p").autoEjectHosts(true)
        .autoEjectRemap(false));
    assertEquals(null, router.refusal(1));
    router.recordFailure(1, "Connection refused");
    router.recordFailure(1, "Connection refused");
    assertEquals(1, route(router, "\u0001"), "the key stays on its server");
    assertEquals("server '10.0.0.1:6379' is ejected: Connection refused", router.refusal(1));
    assertEquals(null, router.refusal(2));
    assertEquals(2, route(router, "\u0002"));
    now.addAndGet(5_000);
    assertEquals(1, route(router, "\u0001"));
    assertEquals(null, router.refusal(1), "back after server_retry_timeout");
  }

  @Test
  void withProbesAnEjectedServerReturnsOnlyWhenReadmitted() {
    PoolRouter router = router(3, PoolConfig.builder("p").autoEjectHosts(true)
        .healthCheckInterval(100));
    router.recordFailure(1, "Connection refused");
    router.recordFailure(1, "Connection refused");
    now.addAndGet(3_600_000);
    assertEquals(2, route(router, "\u0001"), "an hour later, still out: no probe succeeded");
    assertFalse(router.isLive(1));
    router.readmit(1);
    assertTrue(router.isLive(1));
    assertEquals(1, route(router, "\u0001"));
    assertFalse(router.recordFailure(1, "Connection refused"), "readmitted with a clean count");
  }

  @Test
  void aReloadCarriesAnEjectionToTheNextRouter() {
    PoolRouter old = router(3, true, null);
    old.recordFailure(1, "Connection refused");
    old.recordFailure(1, "Connection refused");
    assertEquals(null, old.ejection(0));
    PoolRouter.Ejection out = old.ejection(1);
    assertEquals(now.get() + 5_000, out.until());

    PoolRouter next = router(3, true, null);
    next.carry(1, out);
    assertFalse(next.isLive(1));
    now.addAndGet(5_000);
    assertTrue(next.isLive(1), "out until the same retry time");

    PoolRouter probing = router(3, PoolConfig.builder("p").autoEjectHosts(true)
        .healthCheckInterval(100));
    probing.carry(1, out);
    now.addAndGet(3_600_000);
    assertFalse(probing.isLive(1), "a pool that probes keeps it out until a probe succeeds");
    PoolRouter blind = router(3, true, null);
    blind.carry(1, probing.ejection(1));
    assertFalse(blind.isLive(1));
    now.addAndGet(5_000);
    assertTrue(blind.isLive(1), "probes turned off: out for one retry timeout from the reload");
  }
}
