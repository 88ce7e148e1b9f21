package walnut.core.routing;

import static java.nio.charset.StandardCharsets.US_ASCII;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Continuum;
import walnut.core.spi.Distribution;
import walnut.core.spi.HashFunction;
import walnut.core.spi.KeyRouter;

/**
 * Routes keys of one pool to its servers: hash tag, hash, continuum over the live servers.
 *
 * <p>Implementation note: twemproxy hashes nothing in a one-server pool, hashes an empty key to 0
 * without calling the hash, and routes keyless commands as the key {@code placeholder}
 * (docs/compatibility.md#special-cases). The ring over the live servers is immutable and published
 * through one volatile field; an ejection rebuilds it at once, and a return is noticed lazily by
 * the first lookup after the earliest retry time, as twemproxy does. Lookups are lock-free and
 * allocation-free; rebuilds are rare and synchronized.
 *
 * <p>Walnut's failure modes (docs/compatibility.md#failure-modes): with {@code auto_eject_remap:
 * false} the ring always holds every server and an ejected one is only marked, its keys answered
 * {@link #refusal}; with {@code health_check_interval} an ejected server stays out until
 * {@link #readmit}, which a successful probe calls, instead of returning when its time is up.
 *
 * <p>Thread-safe: shared by every event loop.
 */
public final class PoolRouter implements KeyRouter {

  private static final ByteBuf PLACEHOLDER =
      Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer("placeholder".getBytes(US_ASCII)));

  private final PoolConfig pool;
  private final HashFunction hash;
  private final Distribution distribution;
  private final ServerHealth[] health;
  private final boolean tagged;
  private final byte open;
  private final byte close;
  private final LongSupplier clock;
  /** {@code auto_eject_remap}: an ejected server's keys move to the others. */
  private final boolean remap;
  /** With {@code auto_eject_remap: false}: the continuum over every server, built once. */
  private final Continuum whole;

  private volatile Ring ring;
  /** Which servers the last rebuild left out, to tell returns apart (guarded by this). */
  private final boolean[] out;
  private volatile Watcher watcher = Watcher.NONE;
  /** Earliest wall-clock millis at which an ejected server returns; MAX_VALUE when none is out. */
  private volatile long nextReturn = Long.MAX_VALUE;

  public PoolRouter(PoolConfig pool, HashFunction hash, Distribution distribution) {
    this(pool, hash, distribution, System::currentTimeMillis);
  }

  PoolRouter(PoolConfig pool, HashFunction hash, Distribution distribution, LongSupplier clock) {
    this.pool = pool;
    this.hash = hash;
    this.distribution = distribution;
    this.clock = clock;
    this.health = new ServerHealth[pool.servers().size()];
    for (int i = 0; i < health.length; i++) {
      health[i] = new ServerHealth();
    }
    byte[] tag = pool.hashTagBytes();
    this.tagged = tag != null;
    this.open = tagged ? tag[0] : 0;
    this.close = tagged ? tag[1] : 0;
    this.remap = pool.autoEjectRemap();
    this.whole = remap ? null : distribution.build(pool.servers(), hash);
    this.out = new boolean[health.length];
    rebuild();
  }

  /**
   * Hears the pool's servers leave and come back: rare events (a failure limit reached, a retry
   * time come, a probe answered), never a lookup's cost. Called under the router's lock: it must
   * only record.
   */
  public interface Watcher {
    Watcher NONE = new Watcher() {
      @Override
      public void ejected(int index, String reason) {}

      @Override
      public void returned(int index, String how) {}
    };

    void ejected(int index, String reason);

    void returned(int index, String how);
  }

  /** Tells {@code watcher} of ejections and returns from now on. */
  public void watch(Watcher watcher) {
    this.watcher = watcher;
  }

  @Override
  public int serverFor(ByteBuf buf, int offset, int length) {
    Ring r = currentRing();
    if (r.live.length == 0) {
      return NO_SERVER;
    }
    if (health.length == 1) {
      return 0;
    }
    int h = 0;
    if (length > 0) {
      if (tagged) {
        long span = HashTag.span(buf, offset, length, open, close);
        h = hash.hash(buf, HashTag.start(span), HashTag.length(span));
      } else {
        h = hash.hash(buf, offset, length);
      }
    }
    return r.live[r.continuum.serverFor(h)];
  }

  /** Routes a keyless command as twemproxy does: by the key {@code placeholder}. */
  public int serverForKeyless() {
    return serverFor(PLACEHOLDER, PLACEHOLDER.readerIndex(), PLACEHOLDER.readableBytes());
  }

  /** A reply from server {@code index} was matched to a request. */
  public void recordSuccess(int index) {
    if (pool.ejects()) {
      health[index].success();
    }
  }

  /**
   * A connection to server {@code index} closed, or it answered trouble, for {@code reason}.
   * Returns true when this ejected the server (the caller counts {@code server_ejects}); without
   * {@code auto_eject_hosts} nothing is counted. A pool that probes keeps it out until
   * {@link #readmit}.
   */
  public boolean recordFailure(int index, String reason) {
    if (!pool.ejects() || !health[index].failure(pool.serverFailureLimit())) {
      return false;
    }
    health[index].ejectUntil(
        pool.healthChecked() ? Long.MAX_VALUE : clock.getAsLong() + pool.serverRetryTimeout(),
        "server '" + pool.servers().get(index).name() + "' is ejected: " + reason);
    watcher.ejected(index, reason);
    rebuild();
    return true;
  }

  /**
   * Server {@code index}'s ejection, for a reload to carry over to the next generation's router:
   * when it is out until (wall-clock millis; MAX_VALUE: until a probe succeeds) and why, or
   * {@code null} when it is in the ring.
   */
  public Ejection ejection(int index) {
    ServerHealth h = health[index];
    long until = h.ejectedUntil();
    return until > clock.getAsLong() ? new Ejection(until, h.refusal()) : null;
  }

  /**
   * Takes server {@code index} out as the previous generation had it ({@link #ejection}): a reload
   * does not put a dead server back. A pool that probes keeps it out until a probe succeeds; one
   * that does not, until its retry time (a server the previous generation probed: from now).
   */
  public void carry(int index, Ejection ejection) {
    long until = pool.healthChecked() ? Long.MAX_VALUE
        : ejection.until() == Long.MAX_VALUE ? clock.getAsLong() + pool.serverRetryTimeout()
        : ejection.until();
    health[index].ejectUntil(until, ejection.refusal());
    rebuild();
  }

  /** Out of the ring until {@code until}, for {@code refusal}'s reason. */
  public record Ejection(long until, String refusal) {}

  /** A probe of ejected server {@code index} succeeded: it is back in the ring. */
  public void readmit(int index) {
    health[index].readmit();
    rebuild("a probe succeeded");
  }

  /**
   * With {@code auto_eject_remap: false}, the error text for a request to server {@code index}
   * while it is ejected (naming it and what ejected it); {@code null} when it serves, and always
   * when ejected servers' keys move. Lock-free and allocation-free.
   */
  public String refusal(int index) {
    String[] refused = ring.refused;
    return refused == null ? null : refused[index];
  }

  /** Whether server {@code index} is in the ring now. */
  public boolean isLive(int index) {
    return health[index].isLive(clock.getAsLong());
  }

  private Ring currentRing() {
    long next = nextReturn;
    if (next != Long.MAX_VALUE && clock.getAsLong() >= next) {
      rebuild();
    }
    return ring;
  }

  private void rebuild() {
    rebuild("its retry time came");
  }

  /** Rebuilds the ring; a server back in it since the last rebuild returned as {@code how}. */
  private synchronized void rebuild(String how) {
    long now = clock.getAsLong();
    for (int i = 0; i < health.length; i++) {
      boolean isOut = !health[i].isLive(now);
      if (out[i] && !isOut) {
        watcher.returned(i, how);
      }
      out[i] = isOut;
    }
    if (!remap) {
      rebuildMarks(now);
      return;
    }
    List<ServerConfig> live = new ArrayList<>(health.length);
    int[] index = new int[health.length];
    long next = Long.MAX_VALUE;
    for (int i = 0; i < health.length; i++) {
      if (health[i].isLive(now)) {
        index[live.size()] = i;
        live.add(pool.servers().get(i));
      } else {
        next = Math.min(next, health[i].ejectedUntil());
      }
    }
    int[] liveIndex = java.util.Arrays.copyOf(index, live.size());
    Continuum continuum = live.isEmpty() ? h -> NO_SERVER : distribution.build(live, hash);
    ring = new Ring(continuum, liveIndex, null);
    nextReturn = next;
  }

  /** Without remapping: every server stays in the ring, the ejected ones marked. */
  private void rebuildMarks(long now) {
    String[] refused = null;
    long next = Long.MAX_VALUE;
    int[] all = new int[health.length];
    for (int i = 0; i < health.length; i++) {
      all[i] = i;
      if (!health[i].isLive(now)) {
        if (refused == null) {
          refused = new String[health.length];
        }
        refused[i] = health[i].refusal();
        next = Math.min(next, health[i].ejectedUntil());
      }
    }
    ring = new Ring(whole, all, refused);
    nextReturn = next;
  }

  /**
   * A continuum, the pool index of each of its servers, and, when ejected servers keep their
   * place, the refusal text of each that is out ({@code null} when none is).
   */
  private record Ring(Continuum continuum, int[] live, String[] refused) {}
}
