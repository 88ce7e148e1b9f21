package walnut.memcache;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dagger.Component;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Protocol;
import walnut.core.spi.Request;
import walnut.testing.TrackingAllocator;

class MemcacheProtocolTest {

  private final MemcacheProtocol protocol = new MemcacheProtocol();
  private final TrackingAllocator alloc = new TrackingAllocator();

  @AfterEach
  void allReleased() {
    alloc.assertAllReleased();
  }

  /** The smallest assembly holding the module: its map binding, as the server's component sees it. */
  @Component(modules = MemcacheModule.class)
  interface Protocols {
    Map<String, Protocol> protocols();
  }

  private static PoolConfig pool(long maxRequestSize) {
    return PoolConfig.builder("beta").listen(Endpoint.tcp("127.0.0.1", 22122))
        .maxRequestSize(maxRequestSize)
        .server(ServerConfig.of(Endpoint.tcp("127.0.0.1", 11211), 1)).build();
  }

  @Test
  void isFoundByServiceLoaderAndDaggerUnderItsName() {
    assertEquals("memcache", protocol.name());
    assertEquals("memcache", pool(0).protocol());
    boolean found = false;
    for (Protocol p : ServiceLoader.load(Protocol.class)) {
      found |= p instanceof MemcacheProtocol && p.name().equals("memcache");
    }
    assertTrue(found);
    Map<String, Protocol> bound = DaggerMemcacheProtocolTest_Protocols.create().protocols();
    assertEquals(List.of("memcache"), List.copyOf(bound.keySet()));
    assertInstanceOf(MemcacheProtocol.class, bound.get("memcache"));
  }

  @Test
  void createsOneDecoderPerChannelAndNoHandshake() {
    PoolConfig pool = pool(0);
    ChannelHandler a = protocol.newRequestDecoder(pool);
    assertInstanceOf(MemcacheRequestDecoder.class, a);
    assertNotSame(a, protocol.newRequestDecoder(pool));
    assertFalse(a.getClass().isAnnotationPresent(ChannelHandler.Sharable.class));
    assertInstanceOf(MemcacheReplyDecoder.class, protocol.newReplyDecoder(pool));
    assertNotSame(protocol.newReplyDecoder(pool), protocol.newReplyDecoder(pool));
    assertEquals(List.of(), protocol.handshake(pool, ByteBufAllocator.DEFAULT));
  }

  @Test
  void requestDecoderTakesThePoolsMaxRequestSize() {
    // memcache pools default to 1 MiB, memcached's item size
    assertEquals(List.of("ROUTED", "LOCAL"), kinds(pool(0), 1 << 20, (1 << 20) + 1));
    assertEquals(List.of("ROUTED", "LOCAL"), kinds(pool(10), 10, 11));
  }

  private List<String> kinds(PoolConfig pool, int... lengths) {
    EmbeddedChannel ch = new EmbeddedChannel(protocol.newRequestDecoder(pool));
    ch.config().setAllocator(alloc);
    StringBuilder in = new StringBuilder();
    for (int n : lengths) {
      in.append("set k 0 0 ").append(n).append("\r\n").append("x".repeat(n)).append("\r\n");
    }
    ch.writeInbound(alloc.copyOf(in.toString().getBytes(StandardCharsets.US_ASCII)));
    List<String> kinds = new java.util.ArrayList<>();
    for (Request r; (r = ch.readInbound()) != null; ) {
      kinds.add(r.kind().name());
      r.release();
    }
    assertFalse(ch.finish());
    return kinds;
  }

  @Test
  void errorRepliesAreServerErrors() {
    ByteBuf e = protocol.errorReply(alloc, "Connection refused");
    assertEquals("SERVER_ERROR Connection refused\r\n", e.toString(StandardCharsets.US_ASCII));
    e.release();
    ByteBuf odd = protocol.errorReply(alloc, "two\r\nlines");
    assertEquals("SERVER_ERROR two  lines\r\n", odd.toString(StandardCharsets.US_ASCII));
    odd.release();
  }
}
