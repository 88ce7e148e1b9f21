package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;
import walnut.core.config.Endpoint;
import walnut.core.config.ServerConfig;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * Server host names are resolved on each new connection, off the event loop: a name resolves
 * through the system resolver ({@code /etc/hosts} included), and one that does not answers
 * {@code -ERR Host is down} (docs/compatibility.md#server-side-failures) while the other servers
 * keep serving.
 */
// Kept on nio only, as the file-name globs had it; it proxies through ProxyFixture, so it could
// run on every transport, at the cost of build time.
@SingleTransport
class ServerResolutionIT {

  @Test
  void namesResolveOnConnectAndAnUnknownOneIsHostDown() throws Exception {
    try (RedisServer backend = RedisServer.start();
        ProxyFixture walnut = ProxyFixture.start(ProxyFixture.redisPool(List.of(backend))
            .servers(List.of(
                new ServerConfig("a", Endpoint.tcp("localhost", backend.port()), 1),
                new ServerConfig("b", Endpoint.tcp("no-such-host.invalid", backend.port()), 1)))
            .distribution("modula").hash("fnv1a_64").build(), 1);
        Jedis jedis = new Jedis("127.0.0.1", walnut.port(), 30_000)) {
      int served = 0;
      int hostDown = 0;
      for (int i = 0; i < 40; i++) {
        try {
          assertEquals("OK", jedis.set("dns:" + i, "v"));
          served++;
        } catch (JedisDataException e) {
          assertEquals("ERR Host is down", e.getMessage());
          hostDown++;
        }
      }
      assertEquals(40, served + hostDown);
      assertTrue(served > 0 && hostDown > 0, served + " served, " + hostDown + " down");
    }
  }
}
