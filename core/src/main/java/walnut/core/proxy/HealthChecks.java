package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateExecutor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.spi.ServerTrouble;
import walnut.core.stats.Counters;
import walnut.core.stats.HealthStat;
import walnut.core.tls.TlsErrors;

/**
 * The checked return of {@code health_check_interval} (docs/compatibility.md#failure-modes): an
 * ejected server of the pool stays out of the ring until a probe succeeds. Probing starts when
 * {@code server_retry_timeout} has passed since the ejection and repeats every interval, measured
 * from the start of the last probe; each probe is a connection of its own, the pool's RESP2
 * handshake (AUTH, SELECT) and {@link walnut.core.spi.Protocol#healthProbe} (Redis PING, memcached
 * version), all answered within the pool's {@code timeout}, or 1 s without one. A success puts the
 * server back ({@link walnut.core.routing.PoolRouter#readmit}); anything else (refused, timed
 * out, a handshake error, {@code -LOADING}) leaves it out until the next probe.
 *
 * <p>One per pool generation, on one event loop, so a server is probed once per process however
 * many loops there are. Probe connections carry no client request and count in no connection
 * statistic; their outcomes count in the server's {@link HealthStat}s.
 *
 * <p>Confined to its event loop, except {@link #ejected} and {@link #close}, which any thread
 * calls.
 */
final class HealthChecks {

  private static final Logger log = LoggerFactory.getLogger(HealthChecks.class);

  /** How long a probe may take when the pool has no {@code timeout}. */
  static final int DEFAULT_PROBE_TIMEOUT_MILLIS = 1_000;

  private final Pool pool;
  private final PoolConfig config;
  private final EventLoop loop;
  private final Connector.Opener opener;
  /** Per server: a probe is scheduled or running. */
  private final boolean[] probing;
  /** Per server: the failure of this ejection's probes was logged. */
  private final boolean[] reported;
  /** Probe channels open now, closed by {@link #close}. */
  private final Set<Channel> open = new HashSet<>();
  private boolean closed;

  HealthChecks(Pool pool, EventLoop loop, Connector.Opener opener) {
    this.pool = pool;
    this.config = pool.config();
    this.loop = loop;
    this.opener = opener;
    this.probing = new boolean[config.servers().size()];
    this.reported = new boolean[probing.length];
  }

  /** How long one probe may take: the pool's {@code timeout}, or 1 s. */
  static int probeTimeoutMillis(PoolConfig config) {
    return config.hasTimeout() ? config.timeout() : DEFAULT_PROBE_TIMEOUT_MILLIS;
  }

  /** Server {@code server} was ejected: its probes start once {@code server_retry_timeout} passed. */
  void ejected(int server) {
    run(() -> {
      if (!closed && !probing[server]) {
        probing[server] = true;
        reported[server] = false;
        loop.schedule(() -> probe(server), config.serverRetryTimeout(), TimeUnit.MILLISECONDS);
      }
    });
  }

  /** The generation is done with: no more probes; those running are closed. */
  void close() {
    run(() -> {
      closed = true;
      for (Channel channel : new ArrayList<>(open)) {
        channel.close();
      }
    });
  }

  private void run(Runnable task) {
    try {
      loop.execute(task);
    } catch (RejectedExecutionException e) {
      // The loops are shutting down: nothing is probed any more.
    }
  }

  private void probe(int server) {
    if (closed) {
      probing[server] = false;
      return;
    }
    Probe probe = new Probe(server, loop.ticker().nanoTime());
    ChannelFuture f;
    try {
      Endpoint address = pool.address(server);
      f = opener.open(address, new ChannelInitializer<>() {
        @Override
        protected void initChannel(Channel ch) {
          if (pool.tls().backend() != null) { // the probe meets the server as connections do
            ch.pipeline().addLast("tls", TlsHandshakes.server(ch, pool.tls().backend(),
                config.serverTls(), address, probeTimeoutMillis(config),
                ImmediateExecutor.INSTANCE)); // on the loop, as a connection's (Connector)
          }
          ch.pipeline().addLast("decoder", pool.protocol().newReplyDecoder(config));
          ch.pipeline().addLast("probe", probe);
        }
      });
    } catch (RuntimeException e) {
      probe.channel = null;
      ended(probe, ErrorText.of(e));
      return;
    }
    probe.start(f);
  }

  /** A probe is over: {@code failure} is {@code null} when it succeeded. */
  private void ended(Probe probe, String failure) {
    int server = probe.server;
    if (closed) {
      probing[server] = false; // closed by the proxy: no verdict on the server
      return;
    }
    Counters<HealthStat> counters = pool.healthStats(server);
    counters.increment(HealthStat.HEALTH_PROBES);
    if (failure == null) {
      counters.increment(HealthStat.HEALTH_RETURNS);
      probing[server] = false;
      pool.router().readmit(server);
      log.warn("pool '{}': server '{}' returns to the ring: a probe succeeded", config.name(),
          pool.serverName(server));
      if (probe.handshakeProblem != null) {
        log.error("pool '{}': server '{}': {}", config.name(), pool.serverName(server),
            probe.handshakeProblem);
      }
      return;
    }
    counters.increment(HealthStat.HEALTH_PROBE_FAILURES);
    if (!reported[server]) {
      reported[server] = true; // once per ejection: a dead server fails every probe
      log.warn("pool '{}': server '{}' stays out: probe failed ({}); probing every {} ms",
          config.name(), pool.serverName(server), failure, config.healthCheckInterval());
    }
    long wait = probe.startedNanos + TimeUnit.MILLISECONDS.toNanos(config.healthCheckInterval())
        - loop.ticker().nanoTime();
    loop.schedule(() -> probe(server), Math.max(0, wait), TimeUnit.NANOSECONDS);
  }

  /** One probe: its connection's handler, from the connect to the verdict. */
  private final class Probe extends ChannelInboundHandlerAdapter {
    final int server;
    final long startedNanos;
    Channel channel;
    private Future<?> timer;
    /** Replies expected: the handshake's, then the probe's (if the protocol has one). */
    private int expected;
    private int handshakeSteps;
    /** What the handshake's replies said was wrong, if anything, for the log. */
    String handshakeProblem;
    private int received;
    private boolean done;

    Probe(int server, long startedNanos) {
      this.server = server;
      this.startedNanos = startedNanos;
    }

    void start(ChannelFuture f) {
      channel = f.channel();
      open.add(channel);
      timer = loop.schedule(() -> finish(ErrorText.TIMED_OUT), probeTimeoutMillis(config),
          TimeUnit.MILLISECONDS);
      f.addListener(connect -> {
        if (!connect.isSuccess()) {
          finish(ErrorText.of(connect.cause()));
        } else if (!done) {
          send();
        }
      });
    }

    private void send() {
      List<ByteBuf> requests = new ArrayList<>(pool.protocol().handshake(config, 0,
          channel.alloc()));
      handshakeSteps = requests.size();
      ByteBuf ping = pool.protocol().healthProbe(config, channel.alloc());
      if (ping != null) {
        requests.add(ping);
      }
      expected = requests.size();
      if (expected == 0) {
        finish(null); // connected, and there is nothing else to ask
        return;
      }
      for (ByteBuf request : requests) {
        channel.write(request, channel.voidPromise());
      }
      channel.flush();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        if (done) {
          return;
        }
        int index = received++;
        if (msg instanceof ServerTrouble trouble) {
          finish("server replied " + Requests.troubleText(trouble.content()));
          return;
        }
        if (!(msg instanceof ByteBuf reply) || index >= expected) {
          finish(ErrorText.INVALID);
          return;
        }
        if (index < handshakeSteps && handshakeProblem == null) {
          // Logged, not failed: a client connection keeps serving after the same reply.
          handshakeProblem = pool.protocol().checkHandshakeReply(config, 0, index, reply);
        }
        if (received == expected) {
          finish(null); // the server answers, as its clients' connections would see it
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      finish("the server closed the connection");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      finish(TlsHandshakes.isTls(cause)
          ? ErrorText.of(cause) + ": " + TlsErrors.reason(cause) : ErrorText.of(cause));
    }

    private void finish(String failure) {
      if (done) {
        return;
      }
      done = true;
      if (timer != null) {
        timer.cancel(false);
      }
      if (channel != null) {
        open.remove(channel);
        channel.close();
      }
      ended(this, failure);
    }
  }
}
