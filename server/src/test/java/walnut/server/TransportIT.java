package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import redis.clients.jedis.Jedis;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.config.ServerConfig;
import walnut.core.proxy.EngineOptions;
import walnut.core.proxy.ProxyServer;
import walnut.core.spi.Transport;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;
import walnut.transport.epoll.EpollTransport;
import walnut.transport.iouring.IoUringTransport;
import walnut.transport.nio.NioTransport;

/**
 * What each transport must do beyond the suite every transport runs (see the failsafe executions
 * in the server pom): unix domain sockets on both sides, as twemproxy has them ({@code listen:
 * /path 0600}, {@code servers: - /path:1}, with {@code redis_db} selected on a unix-socket server
 * connection as on a TCP one), and {@code reuseport}.
 */
@SingleTransport
class TransportIT {

  @TempDir
  Path tmp;

  private static Transport transport(String name) {
    Transport transport = switch (name) {
      case "epoll" -> new EpollTransport();
      case "io_uring" -> new IoUringTransport();
      default -> new NioTransport();
    };
    assumeTrue(transport.isAvailable(), () -> name + " is not available here");
    return transport;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"nio", "epoll", "io_uring"})
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void proxiesFromAUnixListenerToUnixServersWithRedisDb(String transportName) throws Exception {
    Path backendSocket = tmp.resolve("redis.sock");
    Path listenSocket = tmp.resolve("walnut.sock");
    Files.writeString(listenSocket, "stale file, unlinked before binding");
    try (RedisServer backend = RedisServer.start("--unixsocket", backendSocket.toString(),
        "--unixsocketperm", "700")) {
      PoolConfig pool = PoolConfig.builder("unix")
          .listen(Endpoint.unix(listenSocket.toString(), 0600))
          .redis(true)
          .redisDb(5)
          .servers(List.of(ServerConfig.of(Endpoint.unix(backendSocket.toString(), 0), 1)))
          .build();
      ProxyServer proxy = ProxyServer.start(ProxyConfig.of(pool), ProxyFixture.PLUGINS,
          transport(transportName), EngineOptions.threads(1));
      try {
        assertEquals("rw-------",
            PosixFilePermissions.toString(Files.getPosixFilePermissions(listenSocket)));
        try (SocketChannel client = SocketChannel.open(StandardProtocolFamily.UNIX)) {
          client.connect(UnixDomainSocketAddress.of(listenSocket));
          assertEquals("+OK\r\n", exchange(client, "*3\r\n$3\r\nSET\r\n$4\r\nu:k1\r\n$2\r\nv1\r\n"));
          assertEquals("$2\r\nv1\r\n", exchange(client, "*2\r\n$3\r\nGET\r\n$4\r\nu:k1\r\n"));
        }
      } finally {
        proxy.shutdown(Duration.ofSeconds(5));
      }
      assertFalse(Files.exists(listenSocket), "the socket file is removed at shutdown");
      try (Jedis direct = new Jedis(backend.host(), backend.port(), 30_000)) {
        assertNull(direct.get("u:k1"), "nothing written to database 0");
        direct.select(5);
        assertEquals("v1", direct.get("u:k1"));
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"nio", "epoll", "io_uring"})
  @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void twoProxiesShareAPortWithReuseport(String transportName) throws Exception {
    try (RedisServer backend = RedisServer.start()) {
      int port = walnut.testing.FreePorts.next();
      PoolConfig pool = ProxyFixture.redisPool(List.of(backend))
          .listen(Endpoint.tcp("127.0.0.1", port)).reuseport(true).build();
      Transport transport = transport(transportName);
      ProxyServer first = ProxyServer.start(ProxyConfig.of(pool), ProxyFixture.PLUGINS, transport,
          EngineOptions.threads(1));
      try {
        ProxyServer second = ProxyServer.start(ProxyConfig.of(pool), ProxyFixture.PLUGINS,
            transport, EngineOptions.threads(1));
        try {
          assertEquals(port, second.port("test"));
          first.shutdown(Duration.ofSeconds(5)); // the second keeps serving the port alone
          try (Jedis jedis = new Jedis("127.0.0.1", port, 30_000)) {
            assertEquals("OK", jedis.set("reuse:k", transportName));
            assertEquals(transportName, jedis.get("reuse:k"));
          }
        } finally {
          second.shutdown(Duration.ofSeconds(5));
        }
      } finally {
        first.shutdown(Duration.ofSeconds(5));
      }
    }
  }

  /** Sends {@code request} and reads (interruptibly, see @Timeout) until a whole one-line or bulk reply arrived. */
  private static String exchange(SocketChannel channel, String request) throws IOException {
    channel.write(ByteBuffer.wrap(request.getBytes(StandardCharsets.UTF_8)));
    StringBuilder reply = new StringBuilder();
    ByteBuffer buffer = ByteBuffer.allocate(256);
    while (!complete(reply.toString())) {
      buffer.clear();
      if (channel.read(buffer) < 0) {
        break;
      }
      buffer.flip();
      reply.append(StandardCharsets.UTF_8.decode(buffer));
    }
    return reply.toString();
  }

  private static boolean complete(String reply) {
    int eol = reply.indexOf("\r\n");
    if (eol < 0) {
      return false;
    }
    if (reply.charAt(0) != '$') {
      return true;
    }
    int length = Integer.parseInt(reply.substring(1, eol));
    return length < 0 || reply.length() >= eol + 2 + length + 2;
  }
}
