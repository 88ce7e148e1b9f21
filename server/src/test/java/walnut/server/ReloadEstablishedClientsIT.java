package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.testing.RedisServer;

/**
 * A reload's per-pool settings reach the clients connected before it, from their next command,
 * against real redis-servers: a rotated {@code redis_auth} (a client that has not authenticated
 * must send the new password and the old one is refused; one that authenticated stays so, as
 * Redis keeps a connection authenticated when {@code requirepass} changes), and a changed
 * {@code max_request_size}, lowered or raised.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReloadEstablishedClientsIT {

  private static final String NOAUTH = "-NOAUTH Authentication required\r\n";
  private static final String INVALID = "-ERR invalid password\r\n";

  @Test
  void aRotatedPasswordReachesClientsConnectedBeforeTheReload() throws Exception {
    List<RedisServer> backends = List.of(RedisServer.start("--requirepass", "old-pw"),
        RedisServer.start("--requirepass", "old-pw"));
    ProxyFixture walnut = null;
    try {
      PoolConfig before = ProxyFixture.redisPool(backends).redisAuth("old-pw").build();
      walnut = ProxyFixture.start(before, 2);
      try (WireClient fresh = WireClient.openResp2(walnut.port());
          WireClient authed = WireClient.openResp2(walnut.port())) {
        assertEquals(NOAUTH, fresh.call("GET", "rot:k").raw());
        assertEquals("+OK\r\n", authed.call("AUTH", "old-pw").raw());
        assertEquals("+OK\r\n", authed.call("SET", "rot:k", "v").raw());

        // The rotation as an operator does it: the servers take both passwords, then the proxy
        // is reloaded with the new one (and authenticates its new server connections with it).
        for (RedisServer backend : backends) {
          assertEquals("OK", backend.command("ACL", "SETUSER", "default", ">new-pw"));
        }
        walnut.proxy.reload(ProxyConfig.of(before.toBuilder().redisAuth("new-pw").build()));

        // A client that never authenticated: the old password is refused, the new one works.
        assertEquals(INVALID, fresh.call("AUTH", "old-pw").raw());
        assertEquals(NOAUTH, fresh.call("GET", "rot:k").raw());
        assertEquals("+OK\r\n", fresh.call("AUTH", "new-pw").raw());
        assertEquals("$1\r\nv\r\n", fresh.call("GET", "rot:k").raw());

        // A client that authenticated before the rotation keeps working, as with Redis...
        assertEquals("$1\r\nv\r\n", authed.call("GET", "rot:k").raw());
        // ...but cannot authenticate with the old password again.
        assertEquals(INVALID, authed.call("AUTH", "old-pw").raw());
        assertEquals(NOAUTH, authed.call("GET", "rot:k").raw());
        assertEquals("+OK\r\n", authed.call("AUTH", "new-pw").raw());
        assertEquals("$1\r\nv\r\n", authed.call("GET", "rot:k").raw());
      }
      try (WireClient later = WireClient.openResp2(walnut.port())) {
        assertEquals(INVALID, later.call("AUTH", "old-pw").raw());
        assertEquals("+OK\r\n", later.call("AUTH", "new-pw").raw());
        assertEquals("$1\r\nv\r\n", later.call("GET", "rot:k").raw());
      }
    } finally {
      ProxyFixture.closeAll(walnut, backends);
    }
  }

  @Test
  void aPasswordSetByAReloadShutsOutClientsConnectedWithoutOne() throws Exception {
    List<RedisServer> backends = List.of(RedisServer.start());
    ProxyFixture walnut = null;
    try {
      PoolConfig open = ProxyFixture.redisPool(backends).build();
      walnut = ProxyFixture.start(open, 2);
      try (WireClient client = WireClient.openResp2(walnut.port())) {
        assertEquals("+OK\r\n", client.call("SET", "open:k", "v").raw());
        assertEquals("OK", backends.get(0).command("CONFIG", "SET", "requirepass", "pw"));
        walnut.proxy.reload(ProxyConfig.of(open.toBuilder().redisAuth("pw").build()));
        assertEquals(NOAUTH, client.call("GET", "open:k").raw());
        assertEquals("+OK\r\n", client.call("AUTH", "pw").raw());
        assertEquals("$1\r\nv\r\n", client.call("GET", "open:k").raw());
      }
    } finally {
      ProxyFixture.closeAll(walnut, backends);
    }
  }

  @Test
  void aChangedMaxRequestSizeReachesClientsConnectedBeforeTheReload() throws Exception {
    List<RedisServer> backends = List.of(RedisServer.start());
    ProxyFixture walnut = null;
    String value = "x".repeat(100_000);
    try {
      PoolConfig large = ProxyFixture.redisPool(backends).maxRequestSize(1 << 20).build();
      PoolConfig small = large.toBuilder().maxRequestSize(64 << 10).build();
      walnut = ProxyFixture.start(small, 2);
      try (WireClient raised = WireClient.openResp2(walnut.port());
          WireClient lowered = WireClient.openResp2(walnut.port())) {
        assertEquals("+OK\r\n", raised.call("SET", "size:k", "small").raw());

        walnut.proxy.reload(ProxyConfig.of(large));
        assertEquals("+OK\r\n", raised.call("SET", "size:k", value).raw());
        assertEquals("+OK\r\n", lowered.call("SET", "size:k2", value).raw());

        walnut.proxy.reload(ProxyConfig.of(small));
        // The header alone: the value is refused by its declared length, before it is sent.
        lowered.sendRaw("*3\r\n$3\r\nSET\r\n$7\r\nsize:k2\r\n$" + value.length() + "\r\n");
        lowered.flush();
        assertEquals("-ERR Protocol error: invalid bulk length\r\n", lowered.read().raw());
        assertTrue(lowered.closedByPeer(), "a protocol error closes the connection");
        assertEquals(value.length(), ((String) raised.call("GET", "size:k").value()).length(),
            "a request under the limit goes on");
      }
    } finally {
      ProxyFixture.closeAll(walnut, backends);
    }
  }
}
