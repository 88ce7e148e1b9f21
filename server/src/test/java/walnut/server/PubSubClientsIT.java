package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.lettuce.core.pubsub.api.sync.RedisPubSubCommands;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.RedisProtocol;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * The pub/sub of the client libraries at their default settings through Walnut over three
 * redis-servers (issue 24), channels on every server: Jedis's {@code JedisPubSub} (RESP2, and
 * RESP3 when asked), Lettuce's {@code connectPubSub} (RESP3 by default, and RESP2), redis-py's
 * {@code pubsub()} with {@code get_message} and {@code run_in_thread} (RESP2 and RESP3, the script
 * run against one redis-server too: the same output).
 */
@SingleTransport
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PubSubClientsIT {

  private static final List<RedisServer> backends = new ArrayList<>();
  private static RedisServer direct;
  private static ProxyFixture walnut;
  private static final List<List<String>> channels = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    Resp3ClientLibrariesIT.installClients();
    backends.addAll(ProxyFixture.redisServers(3));
    direct = RedisServer.start();
    walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).build(), 2);
    channels.addAll(PubSubIT.placed(walnut, backends, "ch", 300));
  }

  @AfterAll
  static void stop() throws Exception {
    List<RedisServer> all = new ArrayList<>(backends);
    if (direct != null) {
      all.add(direct);
    }
    ProxyFixture.closeAll(walnut, all);
  }

  @AfterEach
  void everyListeningConnectionIsGivenBack() {
    PubSubIT.awaitNoPinned(walnut);
  }

  /** Records what a JedisPubSub is told, in order. */
  private static final class Recorder extends JedisPubSub {
    final BlockingQueue<String> events = new LinkedBlockingQueue<>();

    @Override
    public void onMessage(String channel, String message) {
      events.add("message " + channel + " " + message);
    }

    @Override
    public void onPMessage(String pattern, String channel, String message) {
      events.add("pmessage " + pattern + " " + channel + " " + message);
    }

    @Override
    public void onSubscribe(String channel, int subscribedChannels) {
      events.add("subscribe " + channel + " " + subscribedChannels);
    }

    @Override
    public void onUnsubscribe(String channel, int subscribedChannels) {
      events.add("unsubscribe " + channel + " " + subscribedChannels);
    }

    @Override
    public void onPSubscribe(String pattern, int subscribedChannels) {
      events.add("psubscribe " + pattern + " " + subscribedChannels);
    }

    @Override
    public void onPUnsubscribe(String pattern, int subscribedChannels) {
      events.add("punsubscribe " + pattern + " " + subscribedChannels);
    }

    String next() throws InterruptedException {
      String e = events.poll(10, TimeUnit.SECONDS);
      if (e == null) {
        throw new AssertionError("nothing from Jedis within 10 s");
      }
      return e;
    }
  }

  private static Jedis jedis(boolean resp3) {
    DefaultJedisClientConfig.Builder config = DefaultJedisClientConfig.builder()
        .socketTimeoutMillis(30_000);
    if (resp3) {
      config.protocol(RedisProtocol.RESP3);
    }
    return new Jedis(new HostAndPort("127.0.0.1", walnut.port()), config.build());
  }

  /**
   * JedisPubSub in a thread with a channel on server A and one on server B: unsubscribing A from
   * another thread must not end its loop (it ends on a count of 0, which only the client's total
   * count says at the right time); messages arrive in order; unsubscribing all ends it.
   */
  @ParameterizedTest(name = "resp3={0}")
  @ValueSource(booleans = {false, true})
  void jedisSubscribeKeepsItsLoopUntilTheLastChannelGoes(boolean resp3) throws Exception {
    String a = channels.get(0).get(0);
    String b = channels.get(1).get(0);
    Recorder recorder = new Recorder();
    try (Jedis subscriber = jedis(resp3); Jedis publisher = jedis(false)) {
      Thread loop = new Thread(() -> subscriber.subscribe(recorder, a, b), "jedis-subscriber");
      loop.start();
      assertEquals("subscribe " + a + " 1", recorder.next());
      assertEquals("subscribe " + b + " 2", recorder.next());
      for (int i = 0; i < 50; i++) {
        assertEquals(1L, publisher.publish(a, "a" + i));
        assertEquals(1L, publisher.publish(b, "b" + i));
      }
      List<String> forA = new ArrayList<>();
      List<String> forB = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        String e = recorder.next();
        (e.startsWith("message " + a + " ") ? forA : forB).add(e);
      }
      for (int i = 0; i < 50; i++) {
        assertEquals("message " + a + " a" + i, forA.get(i));
        assertEquals("message " + b + " b" + i, forB.get(i));
      }
      recorder.unsubscribe(a);
      assertEquals("unsubscribe " + a + " 1", recorder.next());
      assertTrue(loop.isAlive(), "Jedis's loop goes on with a channel left");
      assertEquals(0L, publisher.publish(a, "gone"));
      assertEquals(1L, publisher.publish(b, "still"));
      assertEquals("message " + b + " still", recorder.next());
      recorder.psubscribe("*:ch");
      assertEquals("psubscribe *:ch 2", recorder.next());
      String c = channels.get(2).get(0);
      assertEquals(1L, publisher.publish(c, "by-pattern"));
      assertEquals("pmessage *:ch " + c + " by-pattern", recorder.next());
      recorder.punsubscribe();
      assertEquals("punsubscribe *:ch 1", recorder.next());
      recorder.unsubscribe();
      assertEquals("unsubscribe " + b + " 0", recorder.next());
      loop.join(10_000);
      assertTrue(!loop.isAlive(), "Jedis's loop ended with the last channel");
      // The connection is back in normal mode.
      assertEquals("OK", subscriber.set("jedis-after", "v"));
      assertEquals("v", subscriber.get("jedis-after"));
    }
  }

  @ParameterizedTest(name = "resp3={0}")
  @ValueSource(booleans = {false, true})
  void jedisPsubscribeGetsChannelsOfEveryServer(boolean resp3) throws Exception {
    Recorder recorder = new Recorder();
    try (Jedis subscriber = jedis(resp3); Jedis publisher = jedis(false)) {
      Thread loop = new Thread(() -> subscriber.psubscribe(recorder, "*:ch"), "jedis-psub");
      loop.start();
      assertEquals("psubscribe *:ch 1", recorder.next());
      for (int s = 0; s < 3; s++) {
        String c = channels.get(s).get(1);
        assertEquals(1L, publisher.publish(c, "p" + s));
        assertEquals("pmessage *:ch " + c + " p" + s, recorder.next());
      }
      recorder.punsubscribe();
      assertEquals("punsubscribe *:ch 0", recorder.next());
      loop.join(10_000);
      assertTrue(!loop.isAlive(), "Jedis's loop ended");
    }
  }

  private static RedisClient lettuce(boolean resp2) {
    RedisClient client = RedisClient.create("redis://127.0.0.1:" + walnut.port());
    if (resp2) {
      client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP2).build());
    }
    return client;
  }

  @ParameterizedTest(name = "resp2={0}")
  @ValueSource(booleans = {false, true})
  void lettucePubSubGetsEveryMessageInOrderFromEveryServer(boolean resp2) throws Exception {
    RedisClient client = lettuce(resp2);
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    try (StatefulRedisPubSubConnection<String, String> sub = client.connectPubSub();
        StatefulRedisConnection<String, String> pub = client.connect()) {
      sub.addListener(new RedisPubSubAdapter<>() {
        @Override
        public void message(String channel, String message) {
          events.add("message " + channel + " " + message);
        }

        @Override
        public void message(String pattern, String channel, String message) {
          events.add("pmessage " + pattern + " " + channel + " " + message);
        }
      });
      RedisPubSubCommands<String, String> sync = sub.sync();
      List<String> cs = List.of(channels.get(0).get(2), channels.get(1).get(2),
          channels.get(2).get(2));
      sync.subscribe(cs.toArray(String[]::new));
      sync.psubscribe("lettuce*");
      Poll.until(PubSubIT.DEADLINE,
          () -> PubSubIT.pinnedPerServer(walnut, backends).equals("[1, 1, 1]"),
          () -> PubSubIT.pinnedPerServer(walnut, backends));
      for (int i = 0; i < 30; i++) {
        for (String c : cs) {
          assertEquals(1L, pub.sync().publish(c, c + "#" + i));
        }
      }
      assertEquals(1L, pub.sync().publish("lettuce-p", "pattern"));
      List<String> got = new ArrayList<>();
      for (int i = 0; i < 91; i++) {
        String e = events.poll(10, TimeUnit.SECONDS);
        if (e == null) {
          throw new AssertionError("Lettuce got only " + got);
        }
        got.add(e);
      }
      for (String c : cs) {
        List<String> mine = got.stream().filter(e -> e.startsWith("message " + c + " "))
            .toList();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
          expected.add("message " + c + " " + c + "#" + i);
        }
        assertEquals(expected, mine);
      }
      assertTrue(got.contains("pmessage lettuce* lettuce-p pattern"), got.toString());
      // In subscribed mode: PING answers what it answers from Redis; in RESP3 any command runs.
      assertEquals(subscribedPing(direct.port(), resp2), sync.ping());
      if (!resp2) {
        assertEquals("OK", sync.set("lettuce-k", "v"));
        assertEquals("v", sync.get("lettuce-k"));
      }
      sync.unsubscribe(cs.get(0));
      assertEquals(0L, pub.sync().publish(cs.get(0), "gone"));
      assertEquals(1L, pub.sync().publish(cs.get(1), "still"));
      assertEquals("message " + cs.get(1) + " still", events.poll(10, TimeUnit.SECONDS));
      sync.punsubscribe();
      sync.unsubscribe();
      PubSubIT.awaitNoPinned(walnut);
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(5));
    }
  }

  /** What Lettuce's PING gives on a subscribed connection to {@code port}. */
  private static String subscribedPing(int port, boolean resp2) {
    RedisClient client = RedisClient.create("redis://127.0.0.1:" + port);
    if (resp2) {
      client.setOptions(ClientOptions.builder().protocolVersion(ProtocolVersion.RESP2).build());
    }
    try (StatefulRedisPubSubConnection<String, String> sub = client.connectPubSub()) {
      sub.sync().subscribe("ping-probe");
      return sub.sync().ping();
    } finally {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(5));
    }
  }

  @Test
  void redisPyPubSubGetsThroughWalnutWhatItGetsFromRedis() throws Exception {
    Path script = Resp3ClientLibrariesIT.copyScript("redis_py_pubsub.py",
        Resp3ClientLibrariesIT.CLIENTS);
    List<String> cs = List.of(channels.get(0).get(3), channels.get(1).get(3),
        channels.get(2).get(3));
    List<String> command = new ArrayList<>(List.of(Resp3ClientLibrariesIT.PYTHON.toString(),
        script.toString(), ""));
    command.addAll(cs);
    command.set(2, Integer.toString(direct.port()));
    String fromRedis = Resp3ClientLibrariesIT.run(command, Resp3ClientLibrariesIT.CLIENTS);
    command.set(2, Integer.toString(walnut.port()));
    String fromWalnut = Resp3ClientLibrariesIT.run(command, Resp3ClientLibrariesIT.CLIENTS);
    assertTrue(fromWalnut.contains("\"in_order\": true"), fromWalnut);
    assertTrue(fromWalnut.contains("\"thread_done\": true"), fromWalnut);
    assertTrue(fromWalnut.contains("\"protocol\": 3"), fromWalnut);
    assertEquals(fromRedis, fromWalnut);
  }
}
