package walnut.redis;

import io.netty.channel.EventLoop;
import java.util.ArrayList;
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
import walnut.core.stats.SentinelStats;

/**
 * Where a pool's masters are, as its sentinels say (docs/compatibility.md#sentinel): each server's
 * name is a Sentinel master name. Through {@link SentinelLink}s shared with every pool that lists
 * the same sentinels, it asks each ready one {@code SENTINEL MASTER <name>} for every server once
 * all are connected (or {@link #FIRST_ROUND_WAIT_MILLIS} after the first), every
 * {@code sentinel_refresh_interval}, and soon (100 ms apart at most) after {@code +switch-master}
 * or a server answering as no master would.
 *
 * <p>Config-epochs decide: an answer with a higher epoch than the followed one moves the server at
 * once (a sentinel never reports an epoch it has not adopted); at a round's end, answers agreeing
 * on the followed epoch but not on the address move it where most point. So a sentinel that has
 * not heard of a failover never takes a server back. The followed epochs live in the pool's
 * {@link SentinelStats}, so a reload's watch starts from them. Announcements carry no epoch and
 * only start a round. A server never moves onto another's address or an impossible one.
 *
 * <p>Confined to its hub's event loop, except {@link #refresh} and {@link #close}.
 */
final class SentinelWatch implements ServerLocator.Watch, SentinelLink.Watcher {

  private static final Logger log = LoggerFactory.getLogger(SentinelWatch.class);

  /** The least time between a round and one a refresh or an announcement asks for. */
  private static final long MIN_REFRESH_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  /** How long the first round waits for every sentinel to be connected. */
  static final long FIRST_ROUND_WAIT_MILLIS = 200;

  private final ServerLocator.Context context;
  private final PoolConfig config;
  private final SentinelStats stats;
  private final SentinelHub hub;
  private final EventLoop loop;
  private final List<String> names = new ArrayList<>();
  /** Per sentinel of the pool's list: the shared link to it, once started. */
  private final SentinelLink[] links;
  private final boolean[] refusalReported; // per sentinel: its refusal (an error) was logged
  /** Per server: a sentinel has named its master, so the next move is a failover. */
  private final boolean[] named;
  /** Per server: that no sentinel knows it, or that a move was refused, was logged. */
  private final boolean[] unknownReported;
  private final boolean[] clashReported;
  private final long roundTimeoutMillis;
  private final AtomicBoolean refreshQueued = new AtomicBoolean();
  private SentinelRound round;
  private boolean again; // a round was asked for while one ran: another follows it
  private boolean silent; // no sentinel answered the last round: logged once until one does
  private ScheduledFuture<?> ticker;
  private ScheduledFuture<?> firstRound;
  /** A round has started: a sentinel that becomes ready waits for the next one. */
  private boolean asked;
  private long lastRoundStart = Long.MIN_VALUE / 2;
  private long lastRefreshLog = Long.MIN_VALUE / 2;
  private boolean closed;

  SentinelWatch(ServerLocator.Context context, SentinelHub hub) {
    this.context = context;
    this.config = context.pool();
    this.stats = context.stats();
    this.hub = hub;
    this.loop = hub.loop();
    config.servers().forEach(s -> names.add(s.name()));
    this.links = new SentinelLink[config.sentinels().size()];
    this.refusalReported = new boolean[links.length];
    this.named = new boolean[names.size()];
    for (int i = 0; i < named.length; i++) {
      named[i] = stats.epoch(i) >= 0; // a reload: the previous generation followed it
    }
    this.unknownReported = new boolean[names.size()];
    this.clashReported = new boolean[names.size()];
    this.roundTimeoutMillis = Math.min(config.sentinelRefreshInterval(),
        config.hasTimeout() ? config.timeout() : 1_000);
  }

  /** Whether {@code error} says the sentinel monitors no master of that name: an answer. */
  static boolean unknownMaster(RespValue.Error error) {
    return error.message().startsWith("ERR No such master");
  }

  /** Joins every sentinel's link (connecting those no other pool uses). */
  void start() {
    run(() -> {
      if (closed) {
        return;
      }
      for (int i = 0; i < links.length; i++) {
        links[i] = hub.link(config.sentinels().get(i), config.sentinelPassword());
      }
      for (SentinelLink link : links) {
        link.join(this); // may say at once that it is ready: the links are all known by then
      }
      int interval = config.sentinelRefreshInterval();
      ticker = loop.scheduleAtFixedRate(this::tick, interval, interval, TimeUnit.MILLISECONDS);
      // Serve from the configured addresses if no sentinel is ready by then.
      loop.schedule(context::ready, roundTimeoutMillis * 2, TimeUnit.MILLISECONDS);
    });
  }

  private void tick() {
    try {
      startRound();
    } catch (RuntimeException e) {
      // A failed round must not end the ticks (a fixed-rate task that throws is cancelled).
      log.error("pool '{}': asking the sentinels failed", config.name(), e);
      round = null;
    }
  }

  @Override
  public ServerLocator.Context context() {
    return context;
  }

  /** Asks again soon ({@link #soon}) however many replies say so; logs it at most once a second. */
  @Override
  public void refresh(int server, String why) {
    if (refreshQueued.compareAndSet(false, true)) {
      run(() -> {
        long now = loop.ticker().nanoTime();
        if (!closed && now - lastRefreshLog >= TimeUnit.SECONDS.toNanos(1)) {
          lastRefreshLog = now;
          log.info("pool '{}': server '{}' at {} is not a master ({}): asking the sentinels",
              config.name(), names.get(server), context.address(server), why);
        }
        soon();
      });
    }
  }

  /** A round as soon as the last one is {@link #MIN_REFRESH_NANOS} old; one for many calls. */
  private void soon() {
    refreshQueued.set(true);
    long wait = lastRoundStart + MIN_REFRESH_NANOS - loop.ticker().nanoTime();
    loop.schedule(() -> {
      refreshQueued.set(false);
      startRound();
    }, Math.max(0, wait), TimeUnit.NANOSECONDS);
  }

  @Override
  public void close() {
    run(() -> {
      if (closed) {
        return;
      }
      closed = true;
      for (ScheduledFuture<?> f : new ScheduledFuture<?>[] {ticker, firstRound,
          round == null ? null : round.timer}) {
        if (f != null) {
          f.cancel(false);
        }
      }
      round = null;
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

  /** Connected (and authenticated): up, until it fails to answer. */
  @Override
  public void linkReady(SentinelLink link) {
    int i = indexOf(link);
    if (closed || i < 0) {
      return;
    }
    stats.sentinelUp(i, true);
    if (asked) {
      if (!refreshQueued.get()) {
        soon(); // reconnected, or slow to connect: asked without waiting for the next tick
      }
      return;
    }
    boolean all = true;
    for (SentinelLink l : links) {
      all &= l.ready();
    }
    if (all) {
      startRound();
    } else if (firstRound == null) {
      firstRound = loop.schedule(this::startRound, FIRST_ROUND_WAIT_MILLIS,
          TimeUnit.MILLISECONDS);
    }
  }

  @Override
  public void linkDown(SentinelLink link, String why) {
    int i = indexOf(link);
    if (!closed && i >= 0) {
      stats.sentinelUp(i, false);
    }
  }

  /**
   * {@code +switch-master} for one of this pool's masters: a round at once, whose answers carry
   * the new config-epoch (the announcing sentinel has it). The announcement itself moves nothing,
   * so a late, repeated or forged one cannot take a server anywhere the sentinels do not say.
   */
  @Override
  public void announced(SentinelLink link, List<Object> message) {
    if (closed || !SentinelConnection.SWITCH_MASTER.equals(message.get(1))
        || !(message.get(2) instanceof String text)) {
      return;
    }
    String[] words = text.split(" ", 6); // <name> <old ip> <old port> <new ip> <new port>
    if (words.length == 5 && names.contains(words[0]) && !refreshQueued.get()) {
      soon();
    }
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
    if (firstRound != null) {
      firstRound.cancel(false);
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
    SentinelRound r = new SentinelRound(links.length, names.size(), ready);
    round = r;
    asked = true;
    lastRoundStart = loop.ticker().nanoTime();
    r.timer = loop.schedule(() -> expire(r), roundTimeoutMillis, TimeUnit.MILLISECONDS);
    for (int sentinel : ready) {
      SentinelLink link = links[sentinel];
      for (int server = 0; server < names.size(); server++) {
        int s = server;
        boolean last = server == names.size() - 1;
        link.ask(reply -> answer(r, sentinel, s, reply, last), "SENTINEL", "MASTER",
            names.get(server));
      }
    }
  }

  /**
   * The round's time is up: the silent sentinels count as down for this pool (late answers are
   * dropped). Their connections stay (other pools may wait longer); the link closes dead ones.
   */
  private void expire(SentinelRound r) {
    if (closed || round != r) {
      return;
    }
    for (int sentinel = 0; sentinel < links.length; sentinel++) {
      if (r.asked[sentinel] && !r.done[sentinel]) {
        r.done[sentinel] = true;
        stats.sentinelUp(sentinel, false);
      }
    }
    ended(r);
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

  /** One of {@code r}'s answers: {@code last}, the sentinel's last of the round. */
  private void answer(SentinelRound r, int sentinel, int server, Object reply, boolean last) {
    if (closed || round != r) {
      return; // the watch closed, or the round timed out: a late answer is dropped
    }
    boolean closedEarly = reply == SentinelConnection.CLOSED;
    if (!closedEarly) {
      MasterAnswer a = read(sentinel, server, reply);
      if (a != null || reply instanceof RespValue.Error e && unknownMaster(e)) {
        r.usable[sentinel] = true;
      }
      if (a != null) {
        r.answers.get(server).add(a);
        if (a.epoch() > stats.epoch(server)) {
          follow(server, a.address(), a.epoch(), a); // newer than anything followed: at once
        }
      } else if (reply instanceof RespValue.Error e && !unknownMaster(e)) {
        r.refused[sentinel] = true;
        if (!refusalReported[sentinel]) {
          refusalReported[sentinel] = true;
          log.error("pool '{}': sentinel {} refuses to answer: {} (sentinel_password, or its"
              + " ACL?)", config.name(), sentinelName(sentinel), e.message());
        }
      }
    }
    if (!last) {
      return;
    }
    r.done[sentinel] = true;
    boolean up = !closedEarly && !r.refused[sentinel] && r.usable[sentinel];
    if (up) {
      r.answered++;
      refusalReported[sentinel] = false;
    }
    stats.sentinelUp(sentinel, up);
    if (--r.owing == 0) {
      r.timer.cancel(false);
      ended(r);
    }
  }

  /** The address and epoch in a reply to SENTINEL MASTER, or {@code null}. */
  private MasterAnswer read(int sentinel, int server, Object reply) {
    if (reply instanceof RespValue.Error e) {
      if (unknownMaster(e) && !unknownReported[server]) {
        unknownReported[server] = true;
        log.error("pool '{}': sentinel {} knows no master '{}' ({}): name the server as the"
            + " sentinels monitor it", config.name(), sentinelName(sentinel), names.get(server),
            e.message());
      }
      return null;
    }
    return MasterAnswer.of(sentinel, reply);
  }

  private void ended(SentinelRound r) {
    if (round == r) {
      round = null;
    }
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
        settle(server, r.answers.get(server));
        // From now on a move is a failover; within the first round it corrects the file.
        named[server] |= !r.answers.get(server).isEmpty();
      }
      context.ready();
    }
    if (again) {
      again = false;
      startRound();
    }
  }

  /**
   * The round's answers for {@code server} at the epoch it follows, if they disagree with where
   * it is: it moves where most of them point (on a tie, it stays).
   */
  private void settle(int server, List<MasterAnswer> answers) {
    long epoch = stats.epoch(server);
    Endpoint current = context.address(server);
    Map<Endpoint, Integer> votes = new HashMap<>();
    for (MasterAnswer a : answers) {
      if (a.epoch() == epoch) {
        votes.merge(a.address(), 1, Integer::sum);
      }
    }
    MasterAnswer best = null;
    int most = votes.getOrDefault(current, 0);
    for (MasterAnswer a : answers) {
      if (a.epoch() == epoch && votes.get(a.address()) > most) {
        most = votes.get(a.address());
        best = a;
      }
    }
    if (best != null) {
      follow(server, best.address(), epoch, best);
    } else if (!answers.isEmpty()) {
      unknownReported[server] = false; // the sentinels agree with where it is
    }
  }

  /** Moves {@code server} to {@code address}, which {@code from} said at {@code epoch}. */
  private void follow(int server, Endpoint address, long epoch, MasterAnswer from) {
    for (int other = 0; other < names.size(); other++) {
      if (other != server && context.address(other).equals(address)) {
        if (!clashReported[server]) {
          clashReported[server] = true;
          log.error("pool '{}': sentinel {} puts '{}' at {}, where '{}' is: not moved (two"
              + " masters' keys would share one server)", config.name(),
              sentinelName(from.sentinel()), names.get(server), address, names.get(other));
        }
        return;
      }
    }
    clashReported[server] = false;
    unknownReported[server] = false;
    stats.epoch(server, epoch);
    boolean failover = named[server];
    context.located(server, address, failover, "sentinel " + sentinelName(from.sentinel())
        + ", config-epoch " + epoch);
  }
}
