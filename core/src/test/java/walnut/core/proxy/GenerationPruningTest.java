package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.core.proxy.EngineHarness.written;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import walnut.core.stats.Latency;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ServerStat;

/**
 * Pool generations a reload superseded are dropped once nothing uses them: no client session
 * routes with them and no request is in flight on their connections. An idle client keeps its
 * generation until it sends (it moves then) or closes. What a dropped generation recorded stays
 * in the pool's latency totals, and its counters, shared with the next generation, carry on.
 */
class GenerationPruningTest {

  private EngineHarness h;
  private final Generations generations = new Generations();

  @AfterEach
  void close() {
    if (h != null) {
      h.close();
    }
  }

  private void harness(int servers) {
    h = EngineHarness.of(servers, 0);
    generations.add(h.pool);
  }

  /** A reload that keeps the config: the handle's next generation; the previous one retires. */
  private Pool reload() {
    Pool previous = h.handle.current();
    Pool next = h.newPool(h.config, previous.options(), previous.protocol(),
        Reload.statsFor(h.config, h.poolStats));
    generations.add(next);
    h.handle.replace(next);
    previous.retire();
    h.run();
    return next;
  }

  /** A pruning pass, run to its end on the (embedded) event loop. */
  private void prune() {
    generations.prune();
    h.run();
  }

  private Latency latency() {
    return h.poolStats.latency();
  }

  @Test
  void aSupersededGenerationGoesOnceItsLastClientAndRequestHave() {
    harness(1);
    EmbeddedChannel c = h.clientSending("get 0a\n");
    EmbeddedChannel old0 = h.backend(0);
    Pool next = reload();
    prune();
    assertEquals(2, generations.size(), "the client routes with the old generation until it sends");

    h.send(c, "get 0b\n");
    prune();
    assertEquals(2, generations.size(), "a request is in flight on the old generation");
    assertEquals(2, latency().recorders());

    h.reply(old0, "A\n");
    assertFalse(old0.isOpen(), "a retired connection closes once idle");
    prune();
    assertEquals(1, generations.size());
    assertSame(next, generations.all().iterator().next());
    assertEquals(1, latency().recorders(), "the old generation's recorder is no longer read");

    h.reply(h.backendsTo(0).get(1), "B\n");
    assertEquals("A\nB\n", written(c));
    assertEquals(2, h.serverStat(0, ServerStat.RESPONSES), "counters carry on");
  }

  @Test
  void anIdleClientKeepsItsGenerationUntilItCloses() {
    harness(1);
    EmbeddedChannel idle = h.client();
    reload();
    prune();
    assertEquals(2, generations.size());
    idle.close();
    h.run();
    prune();
    assertEquals(1, generations.size());
    assertEquals(0, h.poolStat(PoolStat.CLIENT_CONNECTIONS));
  }

  @Test
  void whatAPrunedGenerationRecordedStaysInTheLatencyTotals() {
    harness(1);
    EmbeddedChannel c = h.clientSending("get 0a\n");
    h.reply(h.backend(0), "A\n");
    assertEquals(1, latency().snapshot().getTotalCount());
    h.send(c, "get 0b\n");
    h.reply(h.backend(0), "B\n"); // recorded by the first generation's loop, not read yet
    assertEquals("A\nB\n", written(c));
    reload();
    c.close();
    h.run();
    prune();
    assertEquals(1, generations.size());
    assertEquals(2, latency().snapshot().getTotalCount(), "no latency lost, none counted twice");
    assertEquals(2, latency().snapshot().getTotalCount());
  }

  @Test
  void aRemovedPoolGoesWhenItsLastClientHasClosed() {
    harness(1);
    EmbeddedChannel c = h.clientSending("get 0a\n");
    h.reply(h.backend(0), "A\n");
    // A reload removed the pool (or changed its protocol): its clients keep it until they close.
    h.pool.supersede();
    prune();
    assertEquals(1, generations.size());
    assertTrue(h.backend(0).isOpen(), "its clients still use its connections");
    h.send(c, "get 0b\n");
    h.reply(h.backend(0), "B\n");
    assertEquals("A\nB\n", written(c));

    c.close();
    h.run();
    prune();
    assertEquals(0, generations.size());
    assertFalse(h.backendsTo(0).get(0).isOpen(), "its idle connections closed");
    assertEquals(0, latency().recorders());
  }

  @Test
  void manyReloadsKeepABoundedNumberOfGenerations() {
    harness(2);
    EmbeddedChannel idle = h.client(); // connected before every reload; never sends
    EmbeddedChannel busy = h.client();
    for (int i = 0; i < 400; i++) {
      h.send(busy, "get 0" + i + "\nget 1" + i + "\n");
      reload();
      h.reply(h.backend(0), "A\n");
      h.reply(h.backend(1), "B\n");
      assertEquals("A\nB\n", written(busy));
      prune();
      // The idle client's, the busy client's (it moves with its next request), the current.
      assertTrue(generations.size() <= 3, "generations kept: " + generations.size());
      assertTrue(latency().recorders() <= 3, "latency recorders: " + latency().recorders());
    }
    idle.close();
    busy.close();
    h.run();
    prune();
    assertEquals(1, generations.size());
    assertEquals(1, latency().recorders());
    assertEquals(800, latency().snapshot().getTotalCount());
  }
}
