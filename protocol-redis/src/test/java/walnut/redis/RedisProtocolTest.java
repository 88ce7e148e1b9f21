package walnut.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.redis.RequestHarness.resp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Protocol;
import walnut.testing.TrackingAllocator;

class RedisProtocolTest {

  private final RedisProtocol protocol = new RedisProtocol();
  private final TrackingAllocator alloc = new TrackingAllocator();

  @AfterEach
  void allReleased() {
    alloc.assertAllReleased();
  }

  private static PoolConfig pool(String auth, int db) {
    return PoolConfig.builder("alpha").listen(Endpoint.tcp("127.0.0.1", 22121)).redis(true)
        .redisAuth(auth).redisDb(db).server(ServerConfig.of(Endpoint.tcp("127.0.0.1", 6379), 1))
        .build();
  }

  private static List<String> texts(List<ByteBuf> bufs) {
    List<String> out = bufs.stream().map(b -> b.toString(StandardCharsets.UTF_8)).toList();
    bufs.forEach(ByteBuf::release);
    return out;
  }

  private ByteBuf reply(String s) {
    return alloc.copyOf(s.getBytes(StandardCharsets.ISO_8859_1));
  }

  private static PoolConfig sentinelled(String auth, int db) {
    return pool(auth, db).toBuilder().servers(List.of(
        new ServerConfig("shard-a", Endpoint.tcp("127.0.0.1", 6379), 1)))
        .sentinels(List.of(Endpoint.tcp("127.0.0.1", 26379))).build();
  }

  /**
   * Scripts loaded through Walnut are loaded last in every new connection's handshake, of
   * either dialect and after ROLE; their replies are checked as SCRIPT LOAD's (a SHA1), and
   * SCRIPT FLUSH empties the list.
   */
  @Test
  void rememberedScriptsAreLoadedLastInEveryHandshake() {
    PoolConfig pool = sentinelled("pw", 2);
    ScriptRegistry scripts = ScriptRegistry.of(pool.name());
    scripts.clear();
    scripts.remember("a".repeat(40), "return 1".getBytes(StandardCharsets.UTF_8));
    scripts.remember("b".repeat(40), "return 2".getBytes(StandardCharsets.UTF_8));
    try {
      List<String> resp3 = texts(protocol.handshake(pool, RedisProtocol.RESP3, alloc));
      assertEquals(List.of("*1\r\n$4\r\nROLE\r\n", resp("SCRIPT", "LOAD", "return 1"),
          resp("SCRIPT", "LOAD", "return 2")), resp3.subList(3, 6));
      assertEquals(6, resp3.size());
      assertEquals(5, texts(protocol.handshake(pool, 0, alloc)).size());
      ByteBuf sha = reply("$40\r\n" + "a".repeat(40) + "\r\n");
      ByteBuf noperm = reply("-NOPERM no\r\n");
      ByteBuf master = reply("*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
      try {
        assertNull(protocol.checkHandshakeReply(pool, RedisProtocol.RESP3, 4, sha));
        assertNull(protocol.checkHandshakeReply(pool, 0, 3, sha));
        assertEquals("SCRIPT LOAD of a script loaded through Walnut failed: -NOPERM no",
            protocol.checkHandshakeReply(pool, 0, 4, noperm));
        assertFalse(protocol.notPrimary(pool, RedisProtocol.RESP3, 3, master));
        assertFalse(protocol.refusesDialect(pool, RedisProtocol.RESP3, 4, noperm));
      } finally {
        sha.release();
        noperm.release();
        master.release();
      }
    } finally {
      scripts.clear();
    }
    assertEquals(3, texts(protocol.handshake(pool, 0, alloc)).size(), "flushed: none");
  }

  @Test
  void aSentinelPoolsConnectionAsksRoleLastAndOnlyAMastersAnswerOpensIt() {
    PoolConfig pool = sentinelled("pw", 2);
    List<String> resp2 = texts(protocol.handshake(pool, 0, alloc));
    assertEquals(List.of("*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n",
        "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n", "*1\r\n$4\r\nROLE\r\n"), resp2);
    List<String> resp3 = texts(protocol.handshake(pool, RedisProtocol.RESP3, alloc));
    assertEquals("*1\r\n$4\r\nROLE\r\n", resp3.get(3), "after HELLO 3");
    assertEquals(2, texts(protocol.handshake(pool("pw", 2), 0, alloc)).size(),
        "only with sentinels");

    ByteBuf master = reply("*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
    ByteBuf replica = reply("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:6380\r\n"
        + "$9\r\nconnected\r\n:14\r\n");
    ByteBuf sentinel = reply("*2\r\n$8\r\nsentinel\r\n*0\r\n");
    ByteBuf noperm = reply("-NOPERM this user has no permissions to run the 'role' command\r\n");
    try {
      assertFalse(protocol.notPrimary(pool, 0, 2, master));
      assertTrue(protocol.notPrimary(pool, 0, 2, replica));
      assertTrue(protocol.notPrimary(pool, 0, 2, sentinel));
      assertTrue(protocol.notPrimary(pool, RedisProtocol.RESP3, 3, replica));
      assertFalse(protocol.notPrimary(pool, 0, 1, replica), "not the ROLE step");
      assertFalse(protocol.notPrimary(pool, 0, 2, noperm), "cannot tell: serves, and is logged");
      assertNull(protocol.checkHandshakeReply(pool, 0, 2, master));
      assertTrue(protocol.checkHandshakeReply(pool, 0, 2, noperm).startsWith("ROLE to backend"));
      assertNull(protocol.locator(pool(null, 0)));
      assertTrue(protocol.locator(pool) != null);
    } finally {
      master.release();
      replica.release();
      sentinel.release();
      noperm.release();
    }
  }

  @Test
  void aResp3ConnectionSaysHello3AfterAuthAndSelectAndAnErrorToItRefusesResp3() {
    PoolConfig both = pool("pw", 2);
    List<String> steps = texts(protocol.handshake(both, RedisProtocol.RESP3, alloc));
    assertEquals("*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n", steps.get(2));
    assertEquals(2, texts(protocol.handshake(both, 0, alloc)).size());
    ByteBuf unknown = reply("-ERR unknown command 'HELLO'\r\n");
    ByteBuf map = reply("%7\r\n");
    try {
      assertTrue(protocol.refusesDialect(both, RedisProtocol.RESP3, 2, unknown));
      assertFalse(protocol.refusesDialect(both, RedisProtocol.RESP3, 2, map));
      assertFalse(protocol.refusesDialect(both, RedisProtocol.RESP3, 0, unknown), "AUTH's");
      assertFalse(protocol.refusesDialect(both, 0, 2, unknown));
      assertNull(protocol.checkHandshakeReply(both, RedisProtocol.RESP3, 2, map));
    } finally {
      unknown.release();
      map.release();
    }
    assertFalse(protocol.withoutDialect(both, RedisProtocol.RESP3).resp3(),
        "once refused, HELLO 3 is answered -NOPROTO");
    assertTrue(protocol.withoutDialect(both, 0).resp3());
  }

  @Test
  void isFoundByServiceLoaderUnderItsName() {
    assertEquals("redis", protocol.name());
    boolean found = false;
    for (Protocol p : ServiceLoader.load(Protocol.class)) {
      found |= p instanceof RedisProtocol && p.name().equals("redis");
    }
    assertTrue(found);
  }

  @Test
  void createsOneDecoderPerChannel() {
    PoolConfig pool = pool(null, 0);
    ChannelHandler a = protocol.newRequestDecoder(pool);
    ChannelHandler b = protocol.newRequestDecoder(pool);
    assertInstanceOf(RedisRequestDecoder.class, a);
    assertNotSame(a, b);
    assertFalse(a.getClass().isAnnotationPresent(ChannelHandler.Sharable.class));
    assertInstanceOf(RedisReplyDecoder.class, protocol.newReplyDecoder(pool));
    assertNotSame(protocol.newReplyDecoder(pool), protocol.newReplyDecoder(pool));
  }

  @Test
  void handshakeSendsAuthBeforeSelect() {
    assertEquals(List.of(), texts(protocol.handshake(pool(null, 0), alloc)));
    assertEquals(List.of(resp("AUTH", "pass word")),
        texts(protocol.handshake(pool("pass word", 0), alloc)));
    assertEquals(List.of(resp("SELECT", "12")), texts(protocol.handshake(pool(null, 12), alloc)));
    assertEquals(List.of(resp("AUTH", "pw"), resp("SELECT", "3")),
        texts(protocol.handshake(pool("pw", 3), alloc)));
  }

  @Test
  void handshakeRepliesOtherThanOkNameTheStep() {
    PoolConfig both = pool("pw", 3);
    ByteBuf ok = reply("+OK\r\n");
    ByteBuf badAuth = reply("-ERR invalid password\r\n");
    ByteBuf badDb = reply("-ERR DB index is out of range\r\n");
    try {
      assertNull(protocol.checkHandshakeReply(both, 0, ok));
      assertNull(protocol.checkHandshakeReply(both, 1, ok));
      assertEquals("AUTH to backend failed: -ERR invalid password",
          protocol.checkHandshakeReply(both, 0, badAuth));
      assertEquals("SELECT 3 to backend failed: -ERR DB index is out of range",
          protocol.checkHandshakeReply(both, 1, badDb));
      assertEquals("SELECT 3 to backend failed: -ERR DB index is out of range",
          protocol.checkHandshakeReply(pool(null, 3), 0, badDb));
      assertEquals(0, ok.readerIndex(), "the reply is only read");
    } finally {
      ok.release();
      badAuth.release();
      badDb.release();
    }
  }

  @Test
  void errorRepliesAreRedisErrors() {
    ByteBuf e = protocol.errorReply(alloc, "Connection refused");
    assertEquals("-ERR Connection refused\r\n", e.toString(StandardCharsets.US_ASCII));
    e.release();
  }
}
