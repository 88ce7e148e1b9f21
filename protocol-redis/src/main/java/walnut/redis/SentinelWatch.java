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
 * name is a Sentinel master name. Per sentinel, two connections of the proxy's own: one asks
 * {@code SENTINEL MASTER <name>} for every server, at once and then every
 * {@code sentinel_refresh_interval}, the other listens for {@code +switch-master}.
 *
 * <p>A round asks every sentinel that is connected; once all have answered (or the round timed
 * out), each server goes where the answers with the highest {@code config-epoch} put it (the most
 * of them, on a tie; its present address, on a tie again): a sentinel that has not yet heard of a
 * failover answers the old master with the old epoch, and never takes a server back there. An
 * announcement moves the server at once and starts a round. A server never moves back to an
 * epoch older than one already followed. Connections that close reconnect with back-off; while
 * no sentinel answers, the pool keeps the last known masters.
 *
 * <p>Confined to its event loop, except {@link #refresh} and {@link #close}.
 */
final class SentinelWatch implements ServerLocator.Watch, SentinelConnection.Listener {

  private static final Logger log = LoggerFactory.getLogger(SentinelWatch.class);

  private static final long FIRST_BACKOFF_MILLIS = 100;
  private static final long MAX_BACKOFF_MILLIS = 5_000;
  /** The least time between a round and one a refresh asks for. */
  private static final long MIN_REFRESH_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  private final ServerLocator.Context context;
  private final PoolConfig config;
  private final EventLoop loop;
  private final List<String> names = new ArrayList<>();
  /** Per sentinel: the question and the announcement connection. */
  private final SentinelConnection[] questions;
  private final SentinelConnection[] listening;
  /** Per sentinel and kind (questions 0, announcements 1): consecutive failed connects. */
  private final int[][] failures;
  /** Per sentinel: its outage was logged. */
  private final boolean[] reportedDown;
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

  SentinelWatch(ServerLocator.Context context) {
    this.context = context;
    this.config = context.pool();
    this.loop = context.loop();
    config.servers().forEach(s -> names.add(s.name()));
    int n = config.sentinels().size();
    this.questions = new SentinelConnection[n];
    this.listening = new SentinelConnection[n];
    this.failures = new int[n][2];
    this.reportedDown = new boolean[n];
    this.epochs = new long[names.size()];
    Arrays.fill(epochs, -1);
    this.named = new boolean[names.size()];
    this.unknownReported = new boolean[names.size()];
    this.roundTimeoutMillis = Math.min(config.sentinelRefreshInterval(),
        config.hasTimeout() ? config.timeout() : 1_000);
  }

  /** Connects to every sentinel and asks as soon as one is ready. */
  void start() {
    run(() -> {
      for (int i = 0; i < questions.length; i++) {
        connect(i, false);
        connect(i, true);
      }
      int interval = config.sentinelRefreshInterval();
      ticker = loop.scheduleAtFixedRate(this::startRound, interval, interval,
          TimeUnit.MILLISECONDS);
      // Serve from the configured addresses if no sentinel is ready by then.
      loop.schedule(context::ready, roundTimeoutMillis * 2, TimeUnit.MILLISECONDS);
    });
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
      closed = true;
      if (ticker != null) {
        ticker.cancel(false);
      }
      for (int i = 0; i < questions.length; i++) {
        close(questions[i]);
        close(listening[i]);
      }
    });
  }

  private static void close(SentinelConnection c) {
    if (c != null) {
      c.close("the pool was reloaded or the proxy stops");
    }
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

  private void connect(int sentinel, boolean announcements) {
    if (closed) {
      return;
    }
    SentinelConnection c = new SentinelConnection(sentinel, announcements, this);
    if (announcements) {
      listening[sentinel] = c;
    } else {
      questions[sentinel] = c;
    }
    c.connect(context, config.sentinels().get(sentinel));
  }

  @Override
  public void ready(SentinelConnection c) {
    failures[c.sentinel][c.announcements ? 1 : 0] = 0;
    if (!c.announcements) {
      if (reportedDown[c.sentinel]) {
        reportedDown[c.sentinel] = false;
        log.warn("pool '{}': sentinel {} is reachable again", config.name(),
            sentinelName(c.sentinel));
      }
      if (!asked) {
        startRound(); // the first sentinel ready is asked at once; the others from the next tick
      }
    }
  }

  @Override
  public void closed(SentinelConnection c, String why) {
    if (closed) {
      return;
    }
    if (!c.announcements) {
      context.stats().sentinelUp(c.sentinel, false);
      if (!reportedDown[c.sentinel]) {
        reportedDown[c.sentinel] = true;
        log.warn("pool '{}': sentinel {} is down ({}); reconnecting with back-off", config.name(),
            sentinelName(c.sentinel), why);
      }
    }
    int kind = c.announcements ? 1 : 0;
    int n = Math.min(++failures[c.sentinel][kind], 7);
    long delay = Math.min(MAX_BACKOFF_MILLIS, FIRST_BACKOFF_MILLIS << (n - 1));
    try {
      loop.schedule(() -> connect(c.sentinel, c.announcements), delay, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // The loops are shutting down.
    }
  }

  @Override
  public void announced(SentinelConnection c, List<Object> message) {
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
      context.located(server, to, true, "+switch-master from sentinel "
          + sentinelName(c.sentinel));
    } catch (IllegalArgumentException e) {
      log.warn("pool '{}': sentinel {} announced an unreadable switch: {}", config.name(),
          sentinelName(c.sentinel), text);
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
    List<SentinelConnection> asked = new ArrayList<>();
    for (SentinelConnection c : questions) {
      if (c != null && c.ready() && !c.owes()) {
        asked.add(c);
      }
    }
    if (asked.isEmpty()) {
      nobodyAnswered();
      return;
    }
    Round r = new Round(asked.size());
    round = r;
    this.asked = true;
    lastRoundStart = loop.ticker().nanoTime();
    for (SentinelConnection c : asked) {
      for (int server = 0; server < names.size(); server++) {
        int s = server;
        boolean last = server == names.size() - 1;
        c.ask(reply -> r.answer(c, s, reply, last), "SENTINEL", "MASTER", names.get(server));
      }
    }
    r.timer = loop.schedule(() -> {
      for (SentinelConnection c : asked) {
        if (c.owes()) {
          c.close("no answer within " + roundTimeoutMillis + " ms");
        }
      }
    }, roundTimeoutMillis, TimeUnit.MILLISECONDS);
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
    int owing;
    int answered;
    ScheduledFuture<?> timer;

    Round(int sentinels) {
      this.owing = sentinels;
      for (int i = 0; i < names.size(); i++) {
        answers.add(new ArrayList<>());
      }
    }

    void answer(SentinelConnection c, int server, Object reply, boolean last) {
      if (reply != SentinelConnection.CLOSED) {
        Answer a = read(c.sentinel, server, reply);
        if (a != null) {
          answers.get(server).add(a);
        }
        if (last) {
          answered++;
          context.stats().sentinelUp(c.sentinel, true);
        }
      }
      if (last && --owing == 0) {
        timer.cancel(false);
        ended(this);
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
