package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.core.proxy.EngineHarness.written;

import io.netty.channel.embedded.EmbeddedChannel;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Requests of different dialects ({@code Request#dialect()}, Redis's RESP2 and RESP3) never share
 * a server connection: each dialect has its own, per server and loop, opened with its own
 * handshake, so one client's protocol never changes the shape of another's replies.
 */
class DialectEngineTest {

  @Test
  void eachDialectHasItsOwnConnectionAndHandshake() {
    try (EngineHarness h = EngineHarness.of(1, 0, new LineProtocol(List.of("auth pw")))) {
      EmbeddedChannel c2 = h.clientSending("get 0a\n");
      EmbeddedChannel c3 = h.clientSending("@get 0b\n");
      List<EmbeddedChannel> toServer = h.backendsTo(0);
      assertEquals(2, toServer.size(), "one connection per dialect");
      EmbeddedChannel plain = toServer.get(0);
      EmbeddedChannel three = toServer.get(1);
      assertEquals("auth pw\nget 0a\n", written(plain));
      assertEquals("auth pw\nhello 3\n@get 0b\n", written(three));

      h.reply(three, "OK\nOK\nv3\n");
      assertEquals("v3\n", written(c3));
      assertEquals("", written(c2));
      h.reply(plain, "OK\nv2\n");
      assertEquals("v2\n", written(c2));

      h.send(c2, "@get 0c\n"); // a client may use either; each request goes to its dialect's
      h.send(c3, "get 0d\n");
      assertEquals(2, h.backendsTo(0).size(), "the connections are reused");
      assertEquals("@get 0c\n", written(three));
      assertEquals("get 0d\n", written(plain));
      h.reply(plain, "d\n");
      h.reply(three, "c\n");
      assertEquals("c\n", written(c2));
      assertEquals("d\n", written(c3));
    }
  }

  @Test
  void theFragmentsOfASplitRequestGoToItsDialectsConnections() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("@mget 0a 1b\n");
      EmbeddedChannel s0 = h.backend(0);
      EmbeddedChannel s1 = h.backend(1);
      assertEquals("hello 3\nmget 0a\n", written(s0));
      assertEquals("hello 3\nmget 1b\n", written(s1));
      h.reply(s0, "OK\na\n");
      h.reply(s1, "OK\nb\n");
      assertEquals("a b\n", written(c));
      assertTrue(s0.isOpen() && s1.isOpen());
    }
  }

  @Test
  void aServerThatRefusesADialectClosesThatConnectionAndItsRequestsGetAnError() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c3 = h.clientSending("@get 0a\n");
      EmbeddedChannel plainClient = h.clientSending("get 0b\n");
      List<EmbeddedChannel> toServer = h.backendsTo(0);
      EmbeddedChannel three = toServer.get(0);
      assertEquals("hello 3\n@get 0a\n", written(three));
      h.reply(three, "ERR unknown command 'hello'\n");
      assertEquals(LineProtocol.err(ErrorText.NO_PROTOCOL), written(c3));
      assertTrue(!three.isOpen(), "the connection that cannot speak it closes");
      assertTrue(h.pool.refusesDialect(1));
      assertEquals(0, h.serverStat(0, walnut.core.stats.ServerStat.SERVER_ERR),
          "no failure of the server: it serves the other dialect");

      h.send(c3, "@get 0c\n");
      assertEquals(LineProtocol.err(ErrorText.NO_PROTOCOL), written(c3), "at once");
      assertEquals(2, h.backendsTo(0).size(), "without connecting again");
      h.reply(toServer.get(1), "v\n");
      assertEquals("v\n", written(plainClient), "the other dialect is served as before");
    }
  }
}
