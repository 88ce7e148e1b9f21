package walnut.redis;

import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.spi.ServerLocator;

/**
 * Where a pool's masters are, as its sentinels say (docs/compatibility.md#sentinel). Each server's
 * name is a Sentinel master name. The sentinels are reached through {@link SentinelLink}s shared
 * with every other pool that lists them ({@link SentinelHub}): this watch asks each ready one
 * {@code SENTINEL MASTER <name>} for every server, at once and then every
 * {@code sentinel_refresh_interval}, and hears the {@code +switch-master} announcements.
 *
 * <p>A round asks every ready sentinel; once all have answered (or the round timed out, which
 * closes the silent sentinel's question connection), each server goes where the answers with the
 * highest {@code config-epoch} put it (the most of them, on a tie; its present address, on a tie
 * again): a sentinel that has not yet heard of a failover answers the old master with the old
 * epoch, and never takes a server back. An announcement moves the server at once and starts a
 * round. A server never moves back to an epoch older than one already followed. While no
 * sentinel answers, the pool keeps the last known masters.
 *
 * <p>Confined to its hub's event loop, except {@link #refresh} and {@link #close}.
 */
final class SentinelWatch implements ServerLocator.Watch, SentinelLink.Watcher {

  private static final Logger log = LoggerFactory.getLogger(SentinelWatch.class);

  /** The least time between a round and one a refresh asks for. */
  private static final long MIN_REFRESH_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final ServerLocator.Context context;
  private final PoolConfig config;
  private final SentinelHub hub;
  private final EventLoop loop;
  private final List<String> names = new ArrayList<>();
  /** Per sentinel of the pool's list: the shared link to it, once started. */
  private final SentinelLink[] links;
  /** Per server: the highest config-epoch followed, and whether a sentinel has named it. */
  private final long[] epochs;
  private final boolean[] named;
  private final boolean[] unknownReported;
  private final long roundTimeoutMillis;
  private final AtomicBoolean refreshQueued = new AtomicBoolean();
  private Round round;
  /** A round was asked for while one ran: another follows it. */
  private boolean again;
  /** No sentinel answered the last round: logged once until one does. */
  private boolean silent;
  private ScheduledFuture<?> ticker;
  /** A round has started: a sentinel that becomes ready waits for the next tick. */
  private boolean asked;
  private long lastRoundStart = Long.MIN_VALUE / 2;
  private long lastRefreshLog = Long.MIN_VALUE / 2;
  private boolean closed;

  SentinelWatch(ServerLocator.Context context, SentinelHub hub) {
    this.context = context;
    this.config = context.pool();
    this.hub = hub;
    this.loop = hub.loop();
    config.servers().forEach(s -> names.add(s.name()));
    this.links = new SentinelLink[config.sentinels().size()];
    this.epochs = new long[names.size()];
    Arrays.fill(epochs, -1);
    this.named = new boolean[names.size()];
    this.unknownReported = new boolean[names.size()];
    this.roundTimeoutMillis = Math.min(config.sentinelRefreshInterval(),
        config.hasTimeout() ? config.timeout() : 1_000);
  }

  /** Joins every sentinel's link (connecting those no other pool uses) and asks when one is ready. */
  void start() {
    run(() -> {
      if (closed) {
        return;
      }
      for (int i = 0; i < links.length; i++) {
        links[i] = hub.join(config.sentinels().get(i), config.sentinelPassword(), this);
      }
      int interval = config.sentinelRefreshInterval();
      ticker = loop.scheduleAtFixedRate(this::startRound, interval, interval,
          TimeUnit.MILLISECONDS);
      // Serve from the configured addresses if no sentinel is ready by then.
      loop.schedule(context::ready, roundTimeoutMillis * 2, TimeUnit.MILLISECONDS);
    });
  }

  @Override
  public ServerLocator.Context context() {
    return context;
  }

  /**
   * Asks again, at most once per {@link #MIN_REFRESH_NANOS} however many replies say the server
   * is not a master (a demoted master answers every write {@code -READONLY}), and logs it at most
   * once a second.
   */
  @Override
  public void refresh(int server, String why) {
    if (refreshQueued.compareAndSet(false, true)) {
      run(() -> {
        if (closed) {
          return;
        }
        long now = loop.ticker().nanoTime();
        if (now - lastRefreshLog >= TimeUnit.SECONDS.toNanos(1)) {
          lastRefreshLog = now;
          log.info("pool '{}': server '{}' at {} is not a master ({}): asking the sentinels",
              config.name(), names.get(server), context.address(server), why);
        }
        long wait = lastRoundStart + MIN_REFRESH_NANOS - now;
        loop.schedule(() -> {
          refreshQueued.set(false);
          startRound();
        }, Math.max(0, wait), TimeUnit.NANOSECONDS);
      });
    }
  }

  @Override
  public void close() {
    run(() -> {
      if (closed) {
        return;
      }
      closed = true;
      if (ticker != null) {
        ticker.cancel(false);
      }
      for (SentinelLink link : links) {
        if (link != null) {
          link.leave(this);
        }
      }
    });
  }

  private void run(Runnable task) {
    try {
      loop.execute(task);
    } catch (RejectedExecutionException e) {
      // The loops are shutting down: nothing is watched any more.
    }
  }

  private String sentinelName(int sentinel) {
    return config.sentinels().get(sentinel).toString();
  }

  /** The sentinel's place in the pool's list, or -1. */
  private int indexOf(SentinelLink link) {
    for (int i = 0; i < links.length; i++) {
      if (links[i] == link) {
        return i;
      }
    }
    return -1;
  }

  @Override
  public void linkReady(SentinelLink link) {
    if (!closed && !asked) {
      startRound(); // the first sentinel ready is asked at once; the others from the next tick
    }
  }

  @Override
  public void linkDown(SentinelLink link, String why) {
    int i = indexOf(link);
    if (!closed && i >= 0) {
      context.stats().sentinelUp(i, false);
    }
  }

  @Override
  public void announced(SentinelLink link, List<Object> message) {
    if (closed || !SentinelConnection.SWITCH_MASTER.equals(message.get(1))
        || !(message.get(2) instanceof String text)) {
      return;
    }
    // <name> <old ip> <old port> <new ip> <new port>
    String[] words = text.split(" ");
    int server = words.length == 5 ? names.indexOf(words[0]) : -1;
    if (server < 0) {
      return; // a master of another pool
    }
    try {
      Endpoint to = Endpoint.tcp(words[3], Integer.parseInt(words[4]));
      named[server] = true;
      context.located(server, to, true, "+switch-master from sentinel " + link.address);
    } catch (IllegalArgumentException e) {
      log.warn("pool '{}': sentinel {} announced an unreadable switch: {}", config.name(),
          link.address, text);
    }
    startRound(); // for the epoch, and for what other sentinels say
  }

  /** Asks every ready sentinel where every master is, unless a round runs: then once more after. */
  private void startRound() {
    if (closed) {
      return;
    }
    if (round != null) {
      again = true;
      return;
    }
    List<Integer> ready = new ArrayList<>();
    for (int i = 0; i < links.length; i++) {
      if (links[i] != null && links[i].ready()) {
        ready.add(i);
      }
    }
    if (ready.isEmpty()) {
      nobodyAnswered();
      return;
    }
    Round r = new Round(ready.size());
    round = r;
    this.asked = true;
    lastRoundStart = loop.ticker().nanoTime();
    for (int sentinel : ready) {
      SentinelLink link = links[sentinel];
      for (int server = 0; server < names.size(); server++) {
        int s = server;
        boolean last = server == names.size() - 1;
        link.ask(reply -> r.answer(sentinel, s, reply, last), "SENTINEL", "MASTER",
            names.get(server));
      }
    }
    if (round == r) {
      r.timer = loop.schedule(() -> {
        for (int sentinel : ready) {
          if (!r.done[sentinel]) {
            links[sentinel].fail("no answer within " + roundTimeoutMillis + " ms");
          }
        }
      }, roundTimeoutMillis, TimeUnit.MILLISECONDS);
    }
  }

  private void nobodyAnswered() {
    if (!silent) {
      silent = true;
      StringBuilder where = new StringBuilder();
      for (int i = 0; i < names.size(); i++) {
        where.append(i == 0 ? "" : ", ").append(names.get(i)).append(" at ")
            .append(context.address(i));
      }
      log.warn("pool '{}': no sentinel answers; serving the last known masters ({})",
          config.name(), where);
    }
    context.ready();
  }

  /** One sentinel's answer for one master: where, and with which config-epoch. */
  private record Answer(int sentinel, Endpoint address, long epoch) {}

  /** One round of questions: the answers so far, and how many sentinels still owe some. */
  private final class Round {
    final List<List<Answer>> answers = new ArrayList<>();
    /** Per sentinel of the pool's list: it answered this round's last question, or failed. */
    final boolean[] done = new boolean[links.length];
    int owing;
    int answered;
    ScheduledFuture<?> timer;

    Round(int sentinels) {
      this.owing = sentinels;
      for (int i = 0; i < names.size(); i++) {
        answers.add(new ArrayList<>());
      }
    }

    void answer(int sentinel, int server, Object reply, boolean last) {
      if (reply != SentinelConnection.CLOSED) {
        Answer a = read(sentinel, server, reply);
        if (a != null) {
          answers.get(server).add(a);
        }
        if (last) {
          answered++;
          if (!closed) {
            context.stats().sentinelUp(sentinel, true);
          }
        }
      }
      if (last) {
        done[sentinel] = true;
        if (--owing == 0) {
          if (timer != null) {
            timer.cancel(false);
          }
          ended(this);
        }
      }
    }
  }

  /** The address and epoch in a reply to SENTINEL MASTER, or {@code null}. */
  private Answer read(int sentinel, int server, Object reply) {
    if (reply instanceof RespValue.Error e) {
      if (!unknownReported[server]) {
        unknownReported[server] = true;
        log.error("pool '{}': sentinel {} knows no master '{}' ({}): name the server as the"
            + " sentinels monitor it", config.name(), sentinelName(sentinel), names.get(server),
            e.message());
      }
      return null;
    }
    if (!(reply instanceof List<?> fields)) {
      return null;
    }
    Map<Object, Object> map = new HashMap<>();
    for (int i = 0; i + 1 < fields.size(); i += 2) {
      map.put(fields.get(i), fields.get(i + 1));
    }
    try {
      Endpoint address = Endpoint.tcp((String) map.get("ip"),
          Integer.parseInt((String) map.get("port")));
      Object epoch = map.get("config-epoch");
      return new Answer(sentinel, address, epoch == null ? 0 : Long.parseLong((String) epoch));
    } catch (RuntimeException e) {
      return null;
    }
  }

  private void ended(Round r) {
    round = null;
    if (closed) {
      return;
    }
    if (r.answered == 0) {
      nobodyAnswered();
    } else {
      if (silent) {
        silent = false;
        log.warn("pool '{}': a sentinel answers again", config.name());
      }
      for (int server = 0; server < names.size(); server++) {
        follow(server, r.answers.get(server));
      }
      context.ready();
    }
    if (again) {
      again = false;
      startRound();
    }
  }

  /** Moves {@code server} where the newest of {@code answers} put it. */
  private void follow(int server, List<Answer> answers) {
    long best = -1;
    for (Answer a : answers) {
      best = Math.max(best, a.epoch());
    }
    if (best < 0 || best < epochs[server]) {
      return; // nobody knows it, or only sentinels that have not heard of a newer failover
    }
    Map<Endpoint, Integer> votes = new HashMap<>();
    Endpoint current = context.address(server);
    Endpoint chosen = null;
    int most = 0;
    Answer from = null;
    for (Answer a : answers) {
      if (a.epoch() == best) {
        int v = votes.merge(a.address(), 1, Integer::sum);
        if (v > most || (v == most && a.address().equals(current))) {
          most = v;
          chosen = a.address();
          from = a;
        }
      }
    }
    epochs[server] = best;
    boolean failover = named[server];
    named[server] = true;
    unknownReported[server] = false;
    context.located(server, chosen, failover, "sentinel " + sentinelName(from.sentinel())
        + ", config-epoch " + best);
  }
}
