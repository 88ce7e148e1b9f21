package walnut.core.proxy;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.MockTicker;
import io.netty.util.concurrent.Ticker;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;
import walnut.core.routing.PoolRouter;
import walnut.core.routing.TestRouting;
import walnut.core.spi.Protocol;
import walnut.core.stats.Counters;
import walnut.core.stats.PinStat;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;
import walnut.core.stats.ServerStat;

/**
 * The engine on Netty's {@link EmbeddedChannel}s, for unit tests of its rules: one pool of
 * {@link LineProtocol} servers, client channels with a {@link ClientSession}, and one embedded
 * channel per backend connection the engine opens, all on one mock clock. Nothing runs by itself:
 * {@link #run()} runs every channel's pending tasks (the burst's flush among them), and
 * {@link #advance} moves the clock and runs what became due.
 *
 * <p>Routing is {@link TestRouting}'s: a key's first byte, modulo the number of servers, picks its
 * server, so keys {@code 0…}, {@code 1…}, {@code 2…} go to servers 0, 1, 2.
 */
final class EngineHarness implements AutoCloseable {

  /** The header and first 3 bytes of a 10-byte STREAM value: the start of a long reply. */
  static final String LONG_REPLY_HEAD = "STREAM 10\nabc";
  /** The last 7 bytes of {@link #LONG_REPLY_HEAD}'s value. */
  static final String LONG_REPLY_REST = "defghij";

  final MockTicker ticker = Ticker.newMockTicker();
  /** The pool's event loop: backend timers and the burst's flush run here. */
  final EmbeddedChannel hub;
  final List<EmbeddedChannel> clients = new ArrayList<>();
  /** Every backend channel the engine opened, in order, with the server index it went to. */
  final List<EmbeddedChannel> backends = new ArrayList<>();
  final List<Integer> backendServers = new ArrayList<>();
  /** The address each backend channel was opened to. */
  final List<Endpoint> backendEndpoints = new ArrayList<>();
  /** Connects not yet completed, while {@link #holdConnects} is set. */
  final List<ChannelPromise> pendingConnects = new ArrayList<>();
  final PoolConfig config;
  final ProxyStats.Pool poolStats;
  final ProxyStats stats;
  final LongAdder inflight = new LongAdder();
  final Pool pool;
  final PoolHandle handle;
  private final PoolTls tls;
  /** Connects complete only when the test completes their promise. */
  boolean holdConnects;
  /** When set, every connect fails with it. */
  Throwable connectFailure;

  EngineHarness(PoolConfig config, EngineOptions options) {
    this(config, options, new LineProtocol());
  }

  EngineHarness(PoolConfig config, EngineOptions options, LineProtocol protocol) {
    this(config, options, protocol, PoolTls.NONE);
  }

  /** A harness whose pool has {@code tls}: its backend channels start with an SslHandler. */
  EngineHarness(PoolConfig config, EngineOptions options, LineProtocol protocol, PoolTls tls) {
    this.tls = tls;
    this.config = config;
    this.hub = EmbeddedChannel.builder().ticker(ticker).build();
    List<ProxyStats.Server> servers = new ArrayList<>();
    for (ServerConfig s : config.servers()) {
      servers.add(new ProxyStats.Server(s.name(), new Counters<>(ServerStat.class)));
    }
    this.poolStats = new ProxyStats.Pool(config.name(), new Counters<>(PoolStat.class), servers);
    this.stats = new ProxyStats(List.of(poolStats));
    this.pool = newPool(config, options, protocol, poolStats);
    this.handle = new PoolHandle(pool, new ClientBudget(10_000));
  }

  /** Another generation of the pool (a reload), with its own backend channels. */
  Pool newPool(PoolConfig pc, EngineOptions options, Protocol protocol, ProxyStats.Pool ps) {
    PoolRouter router = new PoolRouter(pc, TestRouting.FIRST_BYTE, TestRouting.MODULO);
    return new Pool(pc, protocol, router, null, stats, ps, List.of(hub.eventLoop()), options,
        inflight, null, tls,
        (p, loop) -> new LoopPool(p, loop, new Connector(p, loop, this::open)),
        (p, loop) -> this::open);
  }

  private ChannelFuture open(Endpoint endpoint, io.netty.channel.ChannelHandler initializer) {
    EmbeddedChannel ch = EmbeddedChannel.builder().ticker(ticker).handlers(initializer).build();
    int server = -1;
    for (int i = 0; i < config.servers().size(); i++) {
      if (config.servers().get(i).endpoint().equals(endpoint)) {
        server = i;
      }
    }
    backends.add(ch);
    backendServers.add(server);
    backendEndpoints.add(endpoint);
    if (connectFailure != null) {
      return ch.newFailedFuture(connectFailure);
    }
    if (holdConnects) {
      ChannelPromise promise = ch.newPromise();
      pendingConnects.add(promise);
      return promise;
    }
    return ch.newSucceededFuture();
  }

  /** The one open backend channel to {@code endpoint}. */
  EmbeddedChannel backendAt(Endpoint endpoint) {
    EmbeddedChannel found = null;
    for (int i = 0; i < backends.size(); i++) {
      if (backendEndpoints.get(i).equals(endpoint) && backends.get(i).isOpen()) {
        assertEquals(null, found, "more than one open channel to " + endpoint);
        found = backends.get(i);
      }
    }
    assertTrue(found != null, "no open channel to " + endpoint);
    return found;
  }

  /** A harness over {@link #poolConfig}{@code (servers, timeoutMillis)}, default options. */
  static EngineHarness of(int servers, int timeoutMillis) {
    return of(servers, timeoutMillis, new LineProtocol());
  }

  /** The same, speaking {@code protocol} (one with a handshake, say). */
  static EngineHarness of(int servers, int timeoutMillis, LineProtocol protocol) {
    return new EngineHarness(poolConfig(servers, timeoutMillis).build(), defaults(), protocol);
  }

  /** A harness over {@code servers} line servers without a timeout, with {@code options}. */
  static EngineHarness of(int servers, EngineOptions options) {
    return new EngineHarness(poolConfig(servers, 0).build(), options);
  }

  /** A pool "p" of {@code servers} line servers, with the given timeout (0: none). */
  static PoolConfig.Builder poolConfig(int servers, int timeoutMillis) {
    PoolConfig.Builder b = PoolConfig.builder("p").listen(Endpoint.tcp("127.0.0.1", 1));
    if (timeoutMillis > 0) {
      b.timeout(timeoutMillis);
    }
    for (int i = 0; i < servers; i++) {
      b.server(ServerConfig.of(Endpoint.tcp("127.0.0." + (i + 1), 7000 + i), 1));
    }
    return b;
  }

  static EngineOptions options(int maxReplies, long maxBytes) {
    return new EngineOptions(1, maxReplies, maxBytes, Duration.ofSeconds(1), 0,
        Duration.ofSeconds(10));
  }

  static EngineOptions defaults() {
    return EngineOptions.threads(1);
  }

  /** A new client connection, active. */
  EmbeddedChannel client() {
    EmbeddedChannel c = EmbeddedChannel.builder().ticker(ticker)
        .handlers(pool.protocol().newRequestDecoder(config), new ClientSession(handle)).build();
    clients.add(c);
    return c;
  }

  /** A new client that has sent {@code text}; what that set off has run. */
  EmbeddedChannel clientSending(String text) {
    EmbeddedChannel c = client();
    send(c, text);
    return c;
  }

  /** Sends {@code text} from client {@code c}, and runs what it set off. */
  void send(EmbeddedChannel c, String text) {
    c.writeInbound(Unpooled.copiedBuffer(text, US_ASCII));
    run();
  }

  /** Sends {@code text} from the server side of {@code backend}, and runs what it set off. */
  void reply(EmbeddedChannel backend, String text) {
    backend.writeInbound(Unpooled.copiedBuffer(text, US_ASCII));
    run();
  }

  /** The one backend channel opened to {@code server} so far that is still open. */
  EmbeddedChannel backend(int server) {
    EmbeddedChannel found = null;
    for (int i = 0; i < backends.size(); i++) {
      if (backendServers.get(i) == server && backends.get(i).isOpen()) {
        if (found != null) {
          throw new AssertionError("two open backend channels to server " + server);
        }
        found = backends.get(i);
      }
    }
    if (found == null) {
      throw new AssertionError("no open backend channel to server " + server);
    }
    return found;
  }

  /**
   * Every backend channel opened to {@code server} so far, open or closed, in the order they were
   * opened (after a reload the old and the new generation's connections are both here).
   */
  List<EmbeddedChannel> backendsTo(int server) {
    List<EmbeddedChannel> found = new ArrayList<>();
    for (int i = 0; i < backends.size(); i++) {
      if (backendServers.get(i) == server) {
        found.add(backends.get(i));
      }
    }
    return found;
  }

  /**
   * Sends {@code text} from the server side of {@code backend} in a buffer the caller keeps a
   * reference to, and runs what it set off. The decoder's reply slices share that buffer, so once
   * every reply cut from it was released (written to a client and read with {@link #written}, or
   * dropped), its {@link ByteBuf#refCnt()} is back to 1: a leak check that does not depend on the
   * leak detector's sampling or on garbage collection. The caller releases it.
   */
  ByteBuf replyTracked(EmbeddedChannel backend, String text) {
    ByteBuf buf = Unpooled.copiedBuffer(text, US_ASCII);
    buf.retain();
    backend.writeInbound(buf);
    run();
    return buf;
  }

  /**
   * Arranges a long reply under way on a shared connection: {@code streaming} sends
   * {@code get 0a}, then {@code behind} sends {@code get 0b}, both on server 0's one connection,
   * and the server sends {@link #LONG_REPLY_HEAD} for {@code streaming}, which is written to it at
   * once (left for the test to read). {@link #LONG_REPLY_REST} is still to come, and
   * {@code behind}'s reply after it. Returns server 0's connection.
   */
  EmbeddedChannel longReplyUnderWay(EmbeddedChannel streaming, EmbeddedChannel behind) {
    send(streaming, "get 0a\n");
    send(behind, "get 0b\n");
    EmbeddedChannel s0 = backend(0);
    reply(s0, LONG_REPLY_HEAD);
    return s0;
  }

  /**
   * Flips a user-defined writability bit of {@code ch} (a client's full socket, or a server that
   * reads slower than it is written to), runs the event it fires, and checks that it took.
   */
  void setWritable(EmbeddedChannel ch, boolean writable) {
    ch.unsafe().outboundBuffer().setUserDefinedWritability(1, writable);
    run();
    assertEquals(writable, ch.isWritable(), "writability");
  }

  /** Completes connect {@code i} (in the order made) of those {@link #holdConnects} held. */
  void completeConnect(int i) {
    pendingConnects.get(i).setSuccess();
    run();
  }

  /** Fails connect {@code i} of those {@link #holdConnects} held as refused. */
  void refuseConnect(int i) {
    pendingConnects.get(i).setFailure(connectionRefused());
    run();
  }

  /** What a connect to a port nobody listens on fails with. */
  static ConnectException connectionRefused() {
    return new ConnectException("Connection refused");
  }

  /** Retires {@link #pool}'s generation, as a reload does, and runs what that set off. */
  void retire() {
    pool.retire();
    run();
  }

  /**
   * A reload that keeps the config: a new generation with the same options, protocol and counters
   * takes over the handle (each session moves to it with its next request), and {@link #pool},
   * still the old one, retires.
   */
  void reload() {
    handle.replace(newPool(config, pool.options(), pool.protocol(),
        Reload.statsFor(config, poolStats)));
    retire();
  }

  /** Runs every channel's pending tasks until none is left. */
  void run() {
    for (int pass = 0; pass < 5; pass++) {
      hub.runPendingTasks();
      for (EmbeddedChannel c : new ArrayList<>(clients)) {
        c.runPendingTasks();
      }
      for (EmbeddedChannel b : new ArrayList<>(backends)) {
        b.runPendingTasks();
      }
    }
  }

  /** Moves the clock on by {@code millis} and runs what became due. */
  void advance(long millis) {
    ticker.advance(millis, TimeUnit.MILLISECONDS);
    run();
  }

  /** Everything written to {@code ch} so far, as text; the buffers are released. */
  static String written(EmbeddedChannel ch) {
    StringBuilder out = new StringBuilder();
    Object msg;
    while ((msg = ch.readOutbound()) != null) {
      if (msg instanceof ByteBuf buf) {
        out.append(buf.toString(US_ASCII));
      }
      ReferenceCountUtil.release(msg);
    }
    return out.toString();
  }

  long poolStat(PoolStat stat) {
    return poolStats.counters().get(stat);
  }

  long serverStat(int server, ServerStat stat) {
    return poolStats.servers().get(server).counters().get(stat);
  }

  long pinStat(int server, PinStat stat) {
    return poolStats.servers().get(server).pinned().get(stat);
  }

  @Override
  public void close() {
    for (EmbeddedChannel c : clients) {
      c.finishAndReleaseAll();
    }
    run();
    for (EmbeddedChannel b : backends) {
      b.finishAndReleaseAll();
    }
    hub.finishAndReleaseAll();
  }
}
