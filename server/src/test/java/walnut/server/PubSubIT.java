package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.server.WireClient.items;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Disabled;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import walnut.core.stats.PinStat;
import walnut.core.stats.ProxyStats;
import walnut.server.WireClient.Err;
import walnut.server.WireClient.Push;
import walnut.server.WireClient.Reply;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.Poll;
import walnut.testing.RedisServer;

/**
 * Redis pub/sub through Walnut over three redis-servers (issue 24), in RESP2 and RESP3, on raw
 * sockets: channels on every server, patterns everywhere, the confirmations' counts (the client's
 * totals, byte for byte what one redis-server answers), subscribed mode, and the listening
 * connections given back ({@code pinned_connections} back to 0, the servers' clients back to
 * their number before) whatever the client does: unsubscribe, leave, QUIT, half-close, storms.
 * Channels are placed by asking the servers which holds a key of the same name
 * ({@link KeyPlacement}): a channel lives where its name would as a key.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PubSubIT {

  static final Duration DEADLINE = Duration.ofSeconds(10);

  private static final List<RedisServer> backends = new ArrayList<>();
  private static RedisServer direct;
  private static ProxyFixture walnut;
  /** Channel names on each server, by server: "i:ch" (fnv1a_64 likes the varying part first). */
  private static final List<List<String>> channels = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    backends.addAll(ProxyFixture.redisServers(3));
    direct = RedisServer.start();
    walnut = ProxyFixture.start(ProxyFixture.redisPool(backends).hashTag("{}").build(), 2);
    channels.addAll(placed(walnut, backends, "ch", 400));
    warm(walnut.port());
  }

  /**
   * Has every event loop open its shared connections (RESP2 and RESP3) to every server (eight
   * clients, a hundred keys each), so that the servers' client counts taken afterwards are the
   * baseline.
   */
  static void warm(int port) throws IOException {
    for (int c = 0; c < 8; c++) {
      try (WireClient client = WireClient.open(port, c >= 4 ? 3 : 2)) {
        for (int k = 0; k < 100; k++) {
          client.send("GET", k + ":warm");
        }
        client.flush();
        for (int k = 0; k < 100; k++) {
          client.next();
        }
      }
    }
  }

  /** {@code n} names "i:suffix", by the server (index in {@code servers}) they hash to. */
  static List<List<String>> placed(ProxyFixture proxy, List<RedisServer> servers, String suffix,
      int n) {
    List<String> candidates = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      candidates.add(i + ":" + suffix);
    }
    Map<String, Integer> placement = KeyPlacement.of(KvDialect.REDIS,
        new InetSocketAddress("127.0.0.1", proxy.port()), servers, candidates);
    List<List<String>> by = new ArrayList<>();
    for (int s = 0; s < servers.size(); s++) {
      List<String> on = KeyPlacement.on(placement, candidates, s);
      assertTrue(on.size() >= 10, "server " + s + " holds few of the names: " + on);
      by.add(on);
    }
    for (RedisServer server : servers) {
      server.command("FLUSHALL");
    }
    return by;
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
    awaitNoPinned(walnut);
  }

  static long pinned(ProxyFixture proxy) {
    long n = 0;
    for (ProxyStats.Server s : proxy.proxy.stats().pools().get(0).servers()) {
      n += s.pinned().get(PinStat.PINNED_CONNECTIONS);
    }
    return n;
  }

  /** The pinned_connections of {@link #backends}' servers, in their order (not the pool's). */
  static String pinnedPerServer(ProxyFixture proxy) {
    return pinnedPerServer(proxy, backends);
  }

  static String pinnedPerServer(ProxyFixture proxy, List<RedisServer> servers) {
    List<Long> per = new ArrayList<>();
    for (RedisServer backend : servers) {
      String name = backend.host() + ":" + backend.port();
      ProxyStats.Server stats = proxy.proxy.stats().pools().get(0).servers().stream()
          .filter(s -> s.name().equals(name) || s.name().startsWith(name + ":")).findFirst()
          .orElseThrow(() -> new AssertionError("no stats for " + name));
      per.add(stats.pinned().get(PinStat.PINNED_CONNECTIONS));
    }
    return per.toString();
  }

  static void awaitNoPinned(ProxyFixture proxy) {
    Poll.until(DEADLINE, () -> pinned(proxy) == 0,
        () -> "pinned_connections back to 0, now " + pinnedPerServer(proxy));
  }

  /** The server's connected_clients (INFO clients), the asking connection not counted. */
  static long connectedClients(RedisServer server) {
    String info = (String) server.command("INFO", "clients");
    for (String line : info.split("\r\n")) {
      if (line.startsWith("connected_clients:")) {
        return Long.parseLong(line.substring("connected_clients:".length())) - 1;
      }
    }
    throw new AssertionError(info);
  }

  /** What each server's PUBSUB CHANNELS says, as sets. */
  static List<Set<String>> serverChannels(List<RedisServer> servers) {
    List<Set<String>> out = new ArrayList<>();
    for (RedisServer s : servers) {
      Set<String> set = new HashSet<>();
      for (Object o : (List<?>) s.command("PUBSUB", "CHANNELS")) {
        set.add((String) o);
      }
      out.add(set);
    }
    return out;
  }

  static void until(BooleanSupplier condition, java.util.function.Supplier<String> what) {
    Poll.until(DEADLINE, condition, what);
  }

  private static Object frame(boolean resp3, Object... items) {
    List<Object> list = new ArrayList<>(List.of(items));
    return resp3 ? new Push(list) : list;
  }

  @ParameterizedTest(name = "resp3={0}")
  @ValueSource(booleans = {false, true})
  void channelsOnEveryServerGetEveryMessageInPublishOrder(boolean resp3) throws Exception {
    List<String> subscribed = new ArrayList<>();
    for (int s = 0; s < 3; s++) {
      subscribed.add(channels.get(s).get(0));
      subscribed.add(channels.get(s).get(1));
    }
    int rounds = 200;
    try (WireClient sub = WireClient.open(walnut.port(), resp3 ? 3 : 2);
        WireClient pub = WireClient.open(walnut.port())) {
      List<String> args = new ArrayList<>(List.of("SUBSCRIBE"));
      args.addAll(subscribed);
      sub.send(args.toArray(String[]::new)).flush();
      for (int i = 0; i < subscribed.size(); i++) {
        assertEquals(frame(resp3, "subscribe", subscribed.get(i), (long) i + 1), sub.next());
      }
      // Each server holds the subscriptions of its channels, and only those.
      List<Set<String>> held = serverChannels(backends);
      for (int s = 0; s < 3; s++) {
        assertEquals(Set.of(channels.get(s).get(0), channels.get(s).get(1)), held.get(s),
            "server " + s);
      }
      assertEquals("[1, 1, 1]", pinnedPerServer(walnut));
      for (int r = 0; r < rounds; r++) {
        for (String c : subscribed) {
          pub.send("PUBLISH", c, c + "#" + r);
        }
      }
      pub.flush();
      for (int i = 0; i < rounds * subscribed.size(); i++) {
        assertEquals(1L, pub.next(), "PUBLISH " + i + " reached the one subscriber");
      }
      Map<String, Integer> next = new HashMap<>();
      for (int i = 0; i < rounds * subscribed.size(); i++) {
        List<Object> m = items(sub.next());
        assertEquals(3, m.size(), m.toString());
        assertEquals("message", m.get(0));
        String c = (String) m.get(1);
        int expected = next.merge(c, 1, Integer::sum) - 1;
        assertEquals(c + "#" + expected, m.get(2), "in publish order on " + c);
      }
      // Nothing duplicated: the next message on each channel is the one published next.
      for (String c : subscribed) {
        assertEquals(1L, pub.call("PUBLISH", c, "end").value());
        assertEquals(frame(resp3, "message", c, "end"), sub.next());
      }
      sub.send("UNSUBSCRIBE").flush();
      Set<String> left = new HashSet<>(subscribed);
      for (int i = subscribed.size() - 1; i >= 0; i--) {
        List<Object> m = items(sub.next());
        assertEquals("unsubscribe", m.get(0));
        assertTrue(left.remove(m.get(1)), m.toString());
        assertEquals((long) i, m.get(2));
      }
      // Back in normal mode: commands run again (in RESP2 too) and nothing is listened to.
      assertEquals("+OK\r\n", sub.call("SET", "after-unsubscribe", "v").raw());
      assertEquals("v", sub.call("GET", "after-unsubscribe").value());
      assertEquals(List.of(Set.of(), Set.of(), Set.of()), serverChannels(backends));
      awaitNoPinned(walnut);
      assertEquals(0L, pub.call("PUBLISH", subscribed.get(0), "nobody").value());
    }
  }

  @ParameterizedTest(name = "resp3={0}")
  @ValueSource(booleans = {false, true})
  void aPatternGetsTheMessagesOfChannelsOnEveryServerOnce(boolean resp3) throws Exception {
    List<List<String>> ps = List.of(channels.get(0).subList(2, 4), channels.get(1).subList(2, 4),
        channels.get(2).subList(2, 4));
    String pattern = "*:ch";
    try (WireClient sub = WireClient.open(walnut.port(), resp3 ? 3 : 2);
        WireClient pub = WireClient.open(walnut.port())) {
      assertEquals(frame(resp3, "psubscribe", pattern, 1L), sub.call("PSUBSCRIBE", pattern)
          .value());
      assertEquals("[1, 1, 1]", pinnedPerServer(walnut));
      for (RedisServer b : backends) {
        assertEquals(1L, b.command("PUBSUB", "NUMPAT"), "the pattern is on " + b);
      }
      String one = channels.get(1).get(4);
      assertEquals(frame(resp3, "subscribe", one, 2L), sub.call("SUBSCRIBE", one).value());
      for (int s = 0; s < 3; s++) {
        for (String c : ps.get(s)) {
          assertEquals(1L, pub.call("PUBLISH", c, "to-" + c).value(), c);
          assertEquals(frame(resp3, "pmessage", pattern, c, "to-" + c), sub.next());
        }
      }
      // Channel and pattern both match: the message and the pmessage, as Redis sends them.
      assertEquals(2L, pub.call("PUBLISH", one, "both").value());
      Set<Object> both = new HashSet<>(List.of(sub.next(), sub.next()));
      assertEquals(Set.of(frame(resp3, "message", one, "both"),
          frame(resp3, "pmessage", pattern, one, "both")), both);
      assertEquals(frame(resp3, "punsubscribe", pattern, 1L),
          sub.call("PUNSUBSCRIBE", pattern).value());
      assertEquals(0L, pub.call("PUBLISH", ps.get(0).get(0), "gone").value());
      for (RedisServer b : backends) {
        assertEquals(0L, b.command("PUBSUB", "NUMPAT"), "the pattern left " + b);
      }
      // Only the channel's server is still listened to.
      until(() -> pinnedPerServer(walnut).equals("[0, 1, 0]"), () -> pinnedPerServer(walnut));
      assertEquals(1L, pub.call("PUBLISH", one, "still").value());
      assertEquals(frame(resp3, "message", one, "still"), sub.next());
      assertEquals(frame(resp3, "unsubscribe", one, 0L), sub.call("UNSUBSCRIBE", one).value());
      assertEquals(resp3 ? "+PONG\r\n" : "+PONG\r\n", sub.call("PING").raw());
    }
  }

  /**
   * One client's conversation, sent to one redis-server and through Walnut over three: every
   * reply byte for byte the same (channels on different servers; the argument-less unsubscribes
   * come when one name is left, since Redis answers them in its dict's order).
   */
  @ParameterizedTest(name = "resp3={0}")
  @ValueSource(booleans = {false, true})
  void aConversationGetsWhatOneRedisAnswers(boolean resp3) throws Exception {
    String a = channels.get(0).get(5);
    String b = channels.get(1).get(5);
    String c = channels.get(2).get(5);
    List<List<String>> script = List.of(
        List.of("SUBSCRIBE"),
        List.of("UNSUBSCRIBE"),
        List.of("PUNSUBSCRIBE"),
        List.of("SUBSCRIBE", a, b, c),
        List.of("PSUBSCRIBE", "p1*", "p2*"),
        List.of("SUBSCRIBE", a, a, "{x}" + b),
        List.of("PING"),
        List.of("PING", "hi"),
        List.of("PING", ""),
        List.of("GET", a),
        List.of("SELECT", "0"),
        List.of("UNSUBSCRIBE", b, "never-subscribed", a),
        List.of("PUNSUBSCRIBE", "p1*", "p3*"),
        List.of("UNSUBSCRIBE", c),
        List.of("UNSUBSCRIBE", "{x}" + b),
        List.of("PUNSUBSCRIBE"),
        List.of("UNSUBSCRIBE"),
        List.of("PING"),
        List.of("GET", a));
    List<String> fromRedis = converse(direct.port(), resp3, script);
    List<String> fromWalnut = converse(walnut.port(), resp3, script);
    for (int i = 0; i < script.size(); i++) {
      assertEquals(fromRedis.get(i), fromWalnut.get(i), "reply to " + script.get(i));
    }
    assertEquals(fromRedis, fromWalnut);
  }

  /** The replies to {@code script}, one command at a time, each reply's frames joined. */
  private static List<String> converse(int port, boolean resp3, List<List<String>> script)
      throws IOException {
    List<String> out = new ArrayList<>();
    try (WireClient c = WireClient.open(port, resp3 ? 3 : 2)) {
      for (List<String> command : script) {
        c.send(command.toArray(String[]::new)).flush();
        int frames = frames(command);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < frames; i++) {
          b.append(c.read().raw());
        }
        out.add(b.toString());
      }
    }
    return out;
  }

  private static int frames(List<String> command) {
    String name = command.get(0);
    if (name.endsWith("SUBSCRIBE") && command.size() > 1) {
      return command.size() - 1;
    }
    return 1;
  }

  @Test
  void aSubscriberThatLeavesGivesItsListeningConnectionsBack() throws Exception {
    List<Long> before = new ArrayList<>();
    for (RedisServer b : backends) {
      before.add(connectedClients(b));
    }
    try (WireClient sub = WireClient.open(walnut.port())) {
      sub.send("SUBSCRIBE", channels.get(0).get(6), channels.get(2).get(6)).flush();
      sub.next();
      sub.next();
      assertEquals("[1, 0, 1]", pinnedPerServer(walnut));
      assertEquals(before.get(0) + 1, connectedClients(backends.get(0)));
    }
    awaitNoPinned(walnut);
    for (int s = 0; s < 3; s++) {
      RedisServer b = backends.get(s);
      long was = before.get(s);
      until(() -> connectedClients(b) <= was, () -> b + " has " + connectedClients(b)
          + " clients, had " + was);
    }
    assertEquals(List.of(Set.of(), Set.of(), Set.of()), serverChannels(backends));
  }

  /**
   * A thousand clients subscribe (channels on two servers, a pattern on all three) and leave: a
   * quarter without waiting for the confirmations, a quarter after QUIT. No listening connection
   * stays taken or open on a server; the leak detector checks the buffers after the test.
   */
  @Test
  void aThousandSubscribersThatLeaveLeaveNothingBehind() throws Exception {
    List<Long> before = new ArrayList<>();
    for (RedisServer b : backends) {
      before.add(connectedClients(b));
    }
    long start = System.nanoTime();
    for (int i = 0; i < 1_000; i++) {
      try {
        subscribeAndLeave(i);
      } catch (IOException | AssertionError e) {
        throw new AssertionError("subscriber " + i + " (case " + i % 4 + "), pinned now "
            + pinnedPerServer(walnut), e);
      }
    }
    long millis = Duration.ofNanos(System.nanoTime() - start).toMillis();
    awaitNoPinned(walnut);
    for (int s = 0; s < 3; s++) {
      RedisServer b = backends.get(s);
      long was = before.get(s);
      until(() -> connectedClients(b) <= was, () -> b + " has " + connectedClients(b)
          + " clients, had " + was + " (the loop took " + millis + " ms)");
      assertEquals(0L, b.command("PUBSUB", "NUMPAT"));
    }
    assertEquals(List.of(Set.of(), Set.of(), Set.of()), serverChannels(backends));
    // Walnut still serves, subscriptions included.
    try (WireClient sub = WireClient.open(walnut.port());
        WireClient pub = WireClient.open(walnut.port())) {
      String c = channels.get(2).get(7);
      assertEquals(frame(false, "subscribe", c, 1L), sub.call("SUBSCRIBE", c).value());
      assertEquals(1L, pub.call("PUBLISH", c, "alive").value());
      assertEquals(frame(false, "message", c, "alive"), sub.next());
    }
  }

  private static void subscribeAndLeave(int i) throws IOException {
    try (WireClient sub = WireClient.open(walnut.port(), i % 8 == 7 ? 3 : 2)) {
      sub.send("SUBSCRIBE", channels.get(0).get(7 + i % 5), channels.get(1).get(7 + i % 3));
      sub.send("PSUBSCRIBE", "leave" + i % 4 + "*");
      switch (i % 4) {
        case 0 -> sub.flush(); // leaves at once
        case 1 -> {
          sub.send("QUIT").flush();
          for (int r = 0; r < 3; r++) {
            items(sub.next());
          }
          assertEquals("OK", sub.next());
          assertTrue(sub.closesWithin(DEADLINE), "closed after QUIT");
        }
        default -> {
          sub.flush();
          for (int r = 0; r < 3; r++) {
            assertEquals(r == 2 ? "psubscribe" : "subscribe", items(sub.next()).get(0));
          }
        }
      }
    }
  }

  /**
   * A RESP2 client that unsubscribes from its last channel while messages flow is back in normal
   * mode once the confirmation says 0: the reply to its next command must be that command's, as
   * from Redis, which sends every message published before the UNSUBSCRIBE ahead of its
   * confirmation. Through Walnut a message the server sent before its answer is queued behind the
   * client's owed confirmation (Subscriptions.Listening.accept: {@code replies.local}), so it
   * arrives after "unsubscribe ... 0" and the next GET reads {@code message} as its reply (Jedis
   * reuses the connection so after its loop ends).
   */
  @Test
  void noMessageFollowsTheLastUnsubscribeConfirmation() throws Exception {
    String c = channels.get(0).get(24);
    int rounds = 30;
    for (int port : new int[] {direct.port(), walnut.port()}) {
      AtomicBoolean stop = new AtomicBoolean();
      CompletableFuture<Void> flood = CompletableFuture.runAsync(() -> {
        try (WireClient pub = WireClient.open(port)) {
          while (!stop.get()) {
            for (int i = 0; i < 50; i++) {
              pub.send("PUBLISH", c, "m");
            }
            pub.flush();
            for (int i = 0; i < 50; i++) {
              pub.next();
            }
          }
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      List<Object> stale = new ArrayList<>();
      try {
        for (int r = 0; r < rounds; r++) {
          try (WireClient sub = WireClient.open(port)) {
            assertEquals(List.of("subscribe", c, 1L), sub.call("SUBSCRIBE", c).value());
            for (int i = 0; i < 10; i++) {
              assertEquals(List.of("message", c, "m"), sub.next());
            }
            sub.send("UNSUBSCRIBE", c).flush();
            Object m;
            while (!(m = sub.next()).equals(List.of("unsubscribe", c, 0L))) {
              assertEquals(List.of("message", c, "m"), m);
            }
            Object get = sub.call("GET", "no-such-key").value();
            if (get != null) {
              stale.add(get);
            }
          }
        }
      } finally {
        stop.set(true);
        flood.get(10, TimeUnit.SECONDS);
      }
      assertEquals(List.of(), stale, (port == direct.port() ? "from Redis" : "through Walnut")
          + ": GET after the last unsubscribe read a message in " + stale.size() + " of "
          + rounds + " rounds");
    }
  }

  /**
   * Pipelined (un)subscriptions in a random storm, pattern ones among them, the same names over
   * and over: the confirmations are Redis's, byte for byte, and afterwards the client listens to
   * exactly what it is left subscribed to.
   */
  @ParameterizedTest(name = "resp3={0}")
  @ValueSource(booleans = {false, true})
  void aPipelinedStormOfSubscribesAndUnsubscribesGetsRedissConfirmations(boolean resp3)
      throws Exception {
    Random random = new Random(resp3 ? 3 : 2);
    List<String> names = new ArrayList<>();
    for (int s = 0; s < 3; s++) {
      names.addAll(channels.get(s).subList(10, 15));
    }
    List<List<String>> commands = new ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      String verb = switch (random.nextInt(7)) {
        case 0, 1, 2 -> "SUBSCRIBE";
        case 3, 4 -> "UNSUBSCRIBE";
        case 5 -> "PSUBSCRIBE";
        default -> "PUNSUBSCRIBE";
      };
      List<String> command = new ArrayList<>(List.of(verb));
      int n = 1 + random.nextInt(4);
      for (int k = 0; k < n; k++) {
        command.add(verb.startsWith("P") ? "storm" + random.nextInt(4) + "*"
            : names.get(random.nextInt(names.size())));
      }
      commands.add(command);
    }
    String fromRedis = storm(direct.port(), resp3, commands);
    Set<String> subscribed = new LinkedHashSet<>();
    Set<String> patterns = new LinkedHashSet<>();
    for (List<String> command : commands) {
      Set<String> set = command.get(0).startsWith("P") ? patterns : subscribed;
      for (String name : command.subList(1, command.size())) {
        if (command.get(0).contains("UNSUB")) {
          set.remove(name);
        } else {
          set.add(name);
        }
      }
    }
    try (WireClient sub = WireClient.open(walnut.port(), resp3 ? 3 : 2);
        WireClient pub = WireClient.open(walnut.port())) {
      for (List<String> command : commands) {
        sub.send(command.toArray(String[]::new));
      }
      sub.flush();
      StringBuilder got = new StringBuilder();
      for (List<String> command : commands) {
        for (int i = 1; i < command.size(); i++) {
          got.append(sub.read().raw());
        }
      }
      assertEquals(fromRedis, got.toString());
      // Each channel's server holds it, if it is still subscribed, and no other does.
      List<Set<String>> held = serverChannels(backends);
      for (int s = 0; s < 3; s++) {
        Set<String> expected = new HashSet<>(channels.get(s));
        expected.retainAll(subscribed);
        assertEquals(expected, held.get(s), "server " + s);
        assertEquals((long) patterns.size(), backends.get(s).command("PUBSUB", "NUMPAT"));
      }
      for (String name : names) {
        long expected = subscribed.contains(name) ? 1 : 0;
        assertEquals(expected, pub.call("PUBLISH", name, "after-storm").value(), name);
        if (expected == 1) {
          assertEquals(frame(resp3, "message", name, "after-storm"), sub.next());
        }
      }
      sub.send("UNSUBSCRIBE").send("PUNSUBSCRIBE").flush();
      int frames = Math.max(1, subscribed.size()) + Math.max(1, patterns.size());
      for (int i = 0; i < frames; i++) {
        items(sub.next());
      }
      assertEquals(resp3 ? "+PONG\r\n" : "+PONG\r\n", sub.call("PING").raw());
    }
  }

  /** The storm's confirmations from one connection (pipelined, as through Walnut). */
  private static String storm(int port, boolean resp3, List<List<String>> commands)
      throws IOException {
    try (WireClient c = WireClient.open(port, resp3 ? 3 : 2)) {
      for (List<String> command : commands) {
        c.send(command.toArray(String[]::new));
      }
      c.flush();
      StringBuilder got = new StringBuilder();
      for (List<String> command : commands) {
        for (int i = 1; i < command.size(); i++) {
          got.append(c.read().raw());
        }
      }
      return got.toString();
    }
  }

  @Test
  void fiveThousandChannelsInOneSubscribeAreConfirmedInOrderAndAllUnsubscribed()
      throws Exception {
    int n = 5_000;
    List<String> names = new ArrayList<>(List.of("SUBSCRIBE"));
    for (int i = 0; i < n; i++) {
      names.add(i + ":many");
    }
    try (WireClient sub = WireClient.open(walnut.port())) {
      sub.send(names.toArray(String[]::new)).flush();
      for (int i = 1; i <= n; i++) {
        assertEquals(List.of("subscribe", names.get(i), (long) i), sub.next());
      }
      long total = 0;
      for (Set<String> held : serverChannels(backends)) {
        assertTrue(held.size() > n / 10, "spread over the three servers: " + held.size());
        total += held.size();
      }
      assertEquals(n, total);
      sub.send("UNSUBSCRIBE").flush();
      Set<String> left = new HashSet<>(names.subList(1, names.size()));
      for (int i = n - 1; i >= 0; i--) {
        List<Object> m = items(sub.next());
        assertTrue(left.remove(m.get(1)), m.toString());
        assertEquals((long) i, m.get(2));
      }
      assertEquals("+OK\r\n", sub.call("SET", "k", "v").raw());
    }
    assertEquals(List.of(Set.of(), Set.of(), Set.of()), serverChannels(backends));
  }

  /** Channel names and payloads of any bytes: CR LF, NUL, RESP markers, high bytes, empty. */
  @ParameterizedTest(name = "resp3={0}")
  @ValueSource(booleans = {false, true})
  void binaryAndEmptyChannelNamesAndPayloadsArriveIntact(boolean resp3) throws Exception {
    StringBuilder high = new StringBuilder();
    for (int b = 0; b < 256; b++) {
      high.append((char) b);
    }
    List<String> names = List.of("", "\r\n", "*1\r\n$4\r\nPING\r\n", "\0bin\0", high.toString(),
        "{}", "{", "message", "subscribe");
    List<String> args = new ArrayList<>(List.of("SUBSCRIBE"));
    args.addAll(names);
    List<List<String>> script = List.of(args, List.of("PSUBSCRIBE", "\r\n*", ""));
    assertEquals(converse(direct.port(), resp3, script), converse(walnut.port(), resp3, script));
    try (WireClient sub = WireClient.open(walnut.port(), resp3 ? 3 : 2);
        WireClient pub = WireClient.open(walnut.port())) {
      sub.send(args.toArray(String[]::new)).flush();
      for (int i = 0; i < names.size(); i++) {
        assertEquals(frame(resp3, "subscribe", names.get(i), (long) i + 1), sub.next());
      }
      for (String name : names) {
        String payload = "\r\n" + name + high;
        assertEquals(1L, pub.call("PUBLISH", name, payload).value(), name);
        assertEquals(frame(resp3, "message", name, payload), sub.next());
      }
      assertEquals(1L, pub.call("PUBLISH", "", "").value());
      assertEquals(frame(resp3, "message", "", ""), sub.next());
      assertEquals(frame(resp3, "unsubscribe", "", (long) names.size() - 1),
          sub.call("UNSUBSCRIBE", "").value());
    }
  }

  /**
   * Messages of several MB, which the reply decoder hands over in pieces, on channels of every
   * server, with small ones before and after: each arrives whole and in its place.
   */
  @ParameterizedTest(name = "resp3={0}")
  @ValueSource(booleans = {false, true})
  void hugeMessagesArriveWholeAndInOrder(boolean resp3) throws Exception {
    Random random = new Random(5);
    try (WireClient sub = WireClient.open(walnut.port(), resp3 ? 3 : 2);
        WireClient pub = WireClient.open(walnut.port())) {
      List<String> cs = List.of(channels.get(0).get(16), channels.get(1).get(16),
          channels.get(2).get(16));
      sub.send("SUBSCRIBE", cs.get(0), cs.get(1), cs.get(2)).flush();
      for (int i = 0; i < 3; i++) {
        items(sub.next());
      }
      for (int round = 0; round < 2; round++) {
        for (String c : cs) {
          byte[] big = new byte[(3 << 20) + random.nextInt(1 << 20)];
          random.nextBytes(big);
          String payload = new String(big, java.nio.charset.StandardCharsets.ISO_8859_1);
          pub.send("PUBLISH", c, "before").send("PUBLISH", c, payload).send("PUBLISH", c,
              "after").flush();
          for (int k = 0; k < 3; k++) {
            assertEquals(1L, pub.next());
          }
          assertEquals(frame(resp3, "message", c, "before"), sub.next());
          List<Object> m = items(sub.next());
          assertEquals("message", m.get(0));
          assertEquals(c, m.get(1));
          assertTrue(payload.equals(m.get(2)), "the big message arrived whole");
          assertEquals(frame(resp3, "message", c, "after"), sub.next());
        }
      }
    }
  }

  @Test
  void hashTaggedChannelsLiveWithTheirTagAndPublishFindsThem() throws Exception {
    String tag = channels.get(2).get(20); // as a tag, the name's server
    List<String> tagged = List.of("{" + tag + "}a", "b{" + tag + "}", "{" + tag + "}");
    try (WireClient sub = WireClient.open(walnut.port());
        WireClient pub = WireClient.open(walnut.port())) {
      sub.send("SUBSCRIBE", tagged.get(0), tagged.get(1), tagged.get(2)).flush();
      for (int i = 0; i < 3; i++) {
        items(sub.next());
      }
      assertEquals(List.of(Set.of(), Set.of(), new HashSet<>(tagged)), serverChannels(backends));
      for (String c : tagged) {
        assertEquals(1L, pub.call("PUBLISH", c, c).value());
        assertEquals(List.of("message", c, c), sub.next());
      }
    }
  }

  @Test
  void subscribeInsideMultiIsRefusedAndExecAborts() throws Exception {
    String key = channels.get(0).get(21);
    try (WireClient c = WireClient.open(walnut.port())) {
      assertEquals("+OK\r\n", c.call("MULTI").raw());
      assertEquals("+QUEUED\r\n", c.call("SET", key, "in-multi").raw());
      Object refused = c.call("SUBSCRIBE", key).value();
      assertInstanceOf(Err.class, refused);
      Object exec = c.call("EXEC").value();
      assertTrue(exec instanceof Err e && e.text().startsWith("EXECABORT"),
          "EXEC after a refused command: " + exec);
      assertEquals(null, c.call("GET", key).value(), "nothing ran");
      // The client is in normal mode: SUBSCRIBE was not taken.
      assertEquals("+PONG\r\n", c.call("PING").raw());
      assertEquals(java.util.Arrays.asList("unsubscribe", null, 0L),
          c.call("UNSUBSCRIBE").value());
    }
  }

  /** A RESP2 subscriber may not switch to RESP3: Redis's refusal, as for any other command. */
  @Test
  void helloWhileSubscribedInResp2IsRefusedAsByRedis() throws Exception {
    String c = channels.get(1).get(22);
    List<List<String>> script = List.of(List.of("SUBSCRIBE", c), List.of("HELLO", "3"),
        List.of("PING"));
    assertEquals(converse(direct.port(), false, script), converse(walnut.port(), false, script));
  }

  /**
   * A RESP3 subscriber may not switch back to RESP2 with HELLO 2 through Walnut (Redis allows it):
   * its listening connections speak the protocol it subscribed in, so its messages would stay
   * RESP3 pushes, which a RESP2 parser cannot read. The switch is refused, and it stays RESP3.
   */
  @Test
  void aResp3SubscriberCannotSwitchToResp2() throws Exception {
    String c = channels.get(1).get(22);
    try (WireClient sub = WireClient.open(walnut.port(), 3);
        WireClient pub = WireClient.open(walnut.port())) {
      assertEquals(frame(true, "subscribe", c, 1L), sub.call("SUBSCRIBE", c).value());
      Reply hello = sub.call("HELLO", "2");
      assertEquals("-ERR HELLO cannot change the protocol of a subscribed client through the"
          + " proxy: unsubscribe first\r\n", hello.raw());
      assertEquals(1L, pub.call("PUBLISH", c, "still-resp3").value());
      assertEquals(frame(true, "message", c, "still-resp3"), sub.next());
      assertEquals(frame(true, "unsubscribe", c, 0L), sub.call("UNSUBSCRIBE", c).value());
      assertTrue(sub.call("HELLO", "2").raw().startsWith("*"), "unsubscribed, it may switch");
    }
  }

  @ParameterizedTest(name = "resp3={0}")
  @ValueSource(booleans = {false, true})
  void aSubscriberThatHalfClosesIsClosedAndGivesItsConnectionsBack(boolean resp3)
      throws Exception {
    try (WireClient sub = WireClient.open(walnut.port(), resp3 ? 3 : 2)) {
      sub.send("SUBSCRIBE", channels.get(0).get(23), channels.get(1).get(23));
      sub.send("PSUBSCRIBE", "half*");
      sub.shutdownOutput();
      assertTrue(sub.closesWithin(DEADLINE), "closed after its half-close");
    }
    awaitNoPinned(walnut);
  }
}
