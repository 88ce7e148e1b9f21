package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.core.proxy.EngineHarness.written;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;
import walnut.core.config.Endpoint;

/**
 * A server that moves to another address ({@link Pool#moveServer}, as a Sentinel failover moves
 * a master): its name, and so its keys, stay; requests already on the old connection get their
 * replies there, in order with the ones sent to the new address, and the old connection closes
 * once idle. Two line servers; keys {@code 0…} go to server 0.
 */
class ServerMoveEngineTest {

  private static final Endpoint NEW = Endpoint.tcp("127.0.0.9", 7100);

  @Test
  void requestsAfterAMoveGoToTheNewAddressAndTheOldConnectionAnswersWhatItHas() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel old = h.backend(0);
      assertEquals("get 0a\n", written(old));

      assertTrue(h.pool.moveServer(0, NEW));
      assertFalse(h.pool.moveServer(0, NEW), "already there");
      h.run();
      assertTrue(old.isOpen(), "a reply is still owed on it");
      h.send(c, "get 0b\n");
      EmbeddedChannel moved = h.backendAt(NEW);
      assertEquals("get 0b\n", written(moved));
      assertEquals("", written(old), "nothing new goes to the old address");

      h.reply(moved, "v2\n");
      assertEquals("", written(c), "replies keep the requests' order");
      h.reply(old, "v1\n");
      assertEquals("v1\nv2\n", written(c));
      assertFalse(old.isOpen(), "idle: closed");
      assertEquals(0, h.poolStat(walnut.core.stats.PoolStat.SERVER_EJECTS));
      assertEquals(0, h.serverStat(0, walnut.core.stats.ServerStat.SERVER_ERR),
          "the proxy's own close is no failure of the server");
    }
  }

  @Test
  void anIdleConnectionToTheOldAddressClosesAtOnce() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel old = h.backend(0);
      written(old);
      h.reply(old, "v\n");
      assertEquals("v\n", written(c));
      h.pool.moveServer(0, NEW);
      h.run();
      assertFalse(old.isOpen());
      h.send(c, "get 0b\n");
      assertEquals("get 0b\n", written(h.backendAt(NEW)));
    }
  }

  @Test
  void theOldAddresssBackOffDoesNotDelayTheNewOne() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      h.connectFailure = EngineHarness.connectionRefused();
      EmbeddedChannel c = h.clientSending("get 0a\n");
      assertEquals("ERR Connection refused\n", written(c));
      h.connectFailure = null;
      h.pool.moveServer(0, NEW);
      h.run();
      h.send(c, "get 0b\n");
      EmbeddedChannel moved = h.backendAt(NEW);
      assertEquals("get 0b\n", written(moved), "connected at once, no back-off");
      h.reply(moved, "v\n");
      assertEquals("v\n", written(c));
    }
  }

  @Test
  void shutdownClosesAConnectionStillDrainingTheOldAddress() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel old = h.backend(0);
      written(old);
      h.pool.moveServer(0, NEW);
      h.run();
      assertTrue(old.isOpen());
      for (LoopPool loop : h.pool.loops()) {
        loop.closeAll();
      }
      h.run();
      assertFalse(old.isOpen());
      assertEquals("ERR unknown\n", written(c), "answered as after an EOF");
    }
  }
}
