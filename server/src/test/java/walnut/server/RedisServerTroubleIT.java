package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import walnut.core.stats.ServerStat;
import walnut.testing.RedisServer;

/**
 * A script's error reply is the script's own: {@code EVAL "return redis.error_reply('OOM x')"}
 * reads like a server out of memory, and twemproxy (and Walnut before) closed the shared server
 * connection for it, failing every request on it, and counted it towards ejection, so any client
 * could eject a healthy server. Now it goes back to the EVAL alone.
 */
class RedisServerTroubleIT {

  private static final String OOM_SCRIPT = "return redis.error_reply('OOM made up by a script')";

  private static List<RedisServer> backends;
  private static ProxyFixture walnut;

  @BeforeAll
  static void start() throws Exception {
    backends = ProxyFixture.redisServers(1);
    // One server, ejected after one failure: a counted failure would leave no server at all.
    walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).autoEjectHosts(true)
        .serverFailureLimit(1).serverRetryTimeout(600_000).build(), 1);
  }

  @AfterAll
  static void stop() throws Exception {
    ProxyFixture.closeAll(walnut, backends);
  }

  @Test
  void aScriptsOomErrorGoesToTheScriptAloneAndEjectsNothing() throws Exception {
    try (WireClient scripter = WireClient.openResp2(walnut.port());
        WireClient neighbour = WireClient.openResp2(walnut.port())) {
      assertEquals("+OK\r\n", neighbour.call("SET", "trouble-k", "v").raw());
      // Pipelined on one connection: the GET is in flight behind the EVAL on the same server.
      scripter.send(List.of(RedisCommandTableIT.bytes("EVAL"), RedisCommandTableIT.bytes(OOM_SCRIPT),
          RedisCommandTableIT.bytes("1"), RedisCommandTableIT.bytes("trouble-k")));
      scripter.send(List.of(RedisCommandTableIT.bytes("GET"), RedisCommandTableIT.bytes("trouble-k")));
      scripter.flush();
      assertEquals("-OOM made up by a script\r\n", scripter.read().raw());
      assertEquals("$1\r\nv\r\n", scripter.read().raw(), "the request behind keeps its reply");
      assertEquals("$1\r\nv\r\n", neighbour.call("GET", "trouble-k").raw(),
          "the server is still in the pool");
    }
    assertEquals(0, walnut.serverStat(ServerStat.SERVER_ERR));
    assertEquals(0, walnut.serverStat(ServerStat.SERVER_EOF));
    assertTrue(walnut.serverStat(ServerStat.SERVER_CONNECTIONS) >= 1);
  }
}
