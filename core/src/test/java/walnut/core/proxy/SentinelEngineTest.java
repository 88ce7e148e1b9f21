package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.core.proxy.EngineHarness.written;

import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.spi.ServerLocator;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ServerStat;

/**
 * The engine's rules for a pool whose servers Sentinel fails over (docs/compatibility.md#sentinel),
 * on embedded channels: a new connection takes no client request until its {@code role} reply
 * says master; a replica's connection fails its requests and asks the locator again without
 * counting against the server; a read-only reply asks again too; no server is ever ejected; a
 * reload keeps where the servers moved. Two line servers; keys {@code 0…} go to server 0.
 */
class SentinelEngineTest {

  private static final Endpoint NEW = Endpoint.tcp("127.0.0.9", 7100);

  /** A locator whose watch records what the engine asks of it. */
  static final class RecordingLocator implements ServerLocator {
    ServerLocator.Context context;
    final List<String> refreshes = new ArrayList<>();
    int closes;

    @Override
    public Watch watch(Context c) {
      this.context = c;
      return new Watch() {
        @Override
        public void refresh(int server, String why) {
          refreshes.add(server + ": " + why);
        }

        @Override
        public void close() {
          closes++;
        }
      };
    }
  }

  private final RecordingLocator locator = new RecordingLocator();

  private EngineHarness harness() {
    PoolConfig config = EngineHarness.poolConfig(2, 0).redis(true).autoEjectHosts(true)
        .serverFailureLimit(1).sentinels(List.of(Endpoint.tcp("127.0.0.1", 26379))).build();
    EngineHarness h = new EngineHarness(config, EngineHarness.defaults(),
        LineProtocol.moving(locator));
    h.pool.serve(null);
    return h;
  }

  @Test
  void noRequestIsWrittenBeforeTheServerSaysItIsTheMaster() {
    try (EngineHarness h = harness()) {
      assertNotNull(locator.context, "serving starts the watch");
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel b = h.backend(0);
      assertEquals("role\n", written(b), "only the role question before the answer");
      h.send(c, "get 0b\n");
      assertEquals("", written(b), "still waiting for the role");
      h.reply(b, "master\n");
      assertEquals("get 0a\nget 0b\n", written(b));
      h.reply(b, "v1\nv2\n");
      assertEquals("v1\nv2\n", written(c));
    }
  }

  @Test
  void aReplicaTakesNoRequestItsQueueIsAnsweredAndTheLocatorIsAsked() {
    try (EngineHarness h = harness()) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel b = h.backend(0);
      assertEquals("role\n", written(b));
      h.reply(b, "replica of 127.0.0.9\n");
      assertEquals("", written(b), "nothing written to a replica");
      assertFalse(b.isOpen());
      assertEquals("ERR " + ErrorText.NOT_PRIMARY + "\n", written(c));
      assertEquals(1, locator.refreshes.size(), locator.refreshes.toString());
      assertTrue(locator.refreshes.get(0).startsWith("0: "), locator.refreshes.toString());
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_ERR), "not the server's failure");
      assertEquals(0, h.poolStat(PoolStat.SERVER_EJECTS));

      h.send(c, "get 0b\n");
      assertEquals("ERR " + ErrorText.NOT_PRIMARY + "\n", written(c),
          "backing off: no connection to the replica per request");
      assertTrue(locator.context.located(0, NEW, true, "test"));
      h.run();
      h.send(c, "get 0c\n");
      EmbeddedChannel moved = h.backendAt(NEW);
      assertEquals("role\n", written(moved), "at once, and checked again");
      h.reply(moved, "master\n");
      assertEquals("get 0c\n", written(moved));
      h.reply(moved, "v\n");
      assertEquals("v\n", written(c));
    }
  }

  @Test
  void aReadOnlyReplyGoesToItsClientAndAsksTheLocatorWithoutCounting() {
    try (EngineHarness h = harness()) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel b = h.backend(0);
      written(b);
      h.reply(b, "master\n");
      assertEquals("get 0a\n", written(b));
      h.reply(b, "READONLY You can't write against a read only replica.\n");
      assertEquals("READONLY You can't write against a read only replica.\n", written(c));
      assertEquals(1, locator.refreshes.size());
      assertTrue(b.isOpen(), "the connection stays until the locator moves the server");
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_ERR));
    }
  }

  @Test
  void failuresNeverEjectAServerOfASentinelPool() {
    try (EngineHarness h = harness()) {
      h.connectFailure = EngineHarness.connectionRefused();
      EmbeddedChannel c = h.clientSending("get 0a\n");
      assertEquals("ERR Connection refused\n", written(c));
      for (int i = 0; i < 5; i++) {
        h.advance(1_100); // past every back-off
        h.send(c, "get 0b\n");
        assertEquals("ERR Connection refused\n", written(c),
            "the key stays on its server: never remapped to the other");
      }
      assertEquals(0, h.poolStat(PoolStat.SERVER_EJECTS));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_EJECTED_AT));
      assertTrue(h.backendsTo(1).isEmpty(), "nothing went to server 1");
    }
  }

  @Test
  void aReloadKeepsWhereTheServersMovedAndClosesTheOldWatch() {
    try (EngineHarness h = harness()) {
      locator.context.located(0, NEW, true, "test");
      RecordingLocator second = new RecordingLocator();
      Pool next = h.newPool(h.config, EngineHarness.defaults(), LineProtocol.moving(second),
          h.poolStats);
      next.serve(h.pool);
      assertEquals(NEW, next.address(0), "not the configured address");
      assertEquals(h.config.servers().get(1).endpoint(), next.address(1));
      assertNotNull(second.context);
      h.pool.supersede();
      assertEquals(0, locator.closes, "it follows failovers for its last clients until dropped");
      h.pool.dropped();
      assertEquals(1, locator.closes);
      next.dropped();
    }
  }

  @Test
  void aServerThatKeepsSayingReplicaIsRetriedWithAGrowingBackOff() {
    try (EngineHarness h = harness()) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      h.reply(h.backend(0), "replica\n");
      assertEquals("ERR " + ErrorText.NOT_PRIMARY + "\n", written(c));
      h.advance(11);
      h.send(c, "get 0b\n");
      EmbeddedChannel second = h.backend(0);
      assertEquals("role\n", written(second), "tried again after 10 ms");
      h.reply(second, "replica\n");
      written(c);
      h.advance(11);
      int connections = h.backendsTo(0).size();
      h.send(c, "get 0c\n");
      assertEquals(connections, h.backendsTo(0).size(),
          "20 ms now: a connect that reached a replica does not reset the back-off");
      assertEquals("ERR " + ErrorText.NOT_PRIMARY + "\n", written(c));
    }
  }

  @Test
  void requestsWaitingForTheRoleOfAServerThatMovedNeverReachTheOldAddress() {
    try (EngineHarness h = harness()) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel old = h.backend(0);
      assertEquals("role\n", written(old));
      assertTrue(locator.context.located(0, NEW, true, "test"));
      h.run();
      h.reply(old, "master\n"); // the old master, still one
      assertEquals("", written(old), "nothing written to the old master");
      assertEquals("ERR " + ErrorText.NOT_PRIMARY + "\n", written(c));
      h.send(c, "get 0b\n");
      EmbeddedChannel moved = h.backendAt(NEW);
      assertEquals("role\n", written(moved));
      h.reply(moved, "master\n");
      assertEquals("get 0b\n", written(moved));
    }
  }

  /**
   * A move's task reaches a loop after that loop already connected to the new address (a reload's
   * new generation takes the last one's addresses while its first clients arrive): the
   * connection where the server is now stays, and its waiting requests go out.
   */
  @Test
  void aLateMoveLeavesAConnectionAlreadyAtTheNewAddress() {
    try (EngineHarness h = harness()) {
      assertTrue(locator.context.located(0, NEW, true, "test"));
      h.run();
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel atNew = h.backendAt(NEW);
      assertEquals("role\n", written(atNew));
      h.pool.loop(atNew.eventLoop()).serverMoved(0); // late: it is already there
      h.run();
      h.reply(atNew, "master\n");
      assertEquals("get 0a\n", written(atNew), "not failed as if it were at the old address");
      h.reply(atNew, "v\n");
      assertEquals("v\n", written(c));
    }
  }
}
