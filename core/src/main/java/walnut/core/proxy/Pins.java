package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import walnut.core.spi.Conversation;
import walnut.core.spi.Conversation.Step;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;

/**
 * One client's private server connections ({@link Conversation}): the connection of its
 * transaction, and one per blocking command in flight. Takes each from the pool's
 * {@link Upstream#takePinned budget} when a request first needs it and gives it back exactly once:
 * clean when the conversation ended and was answered (kept for the next client), closed when it
 * broke, failed, or the client went.
 *
 * <p>A transaction's server is chosen by its first keyed request: requests without a key before
 * it (MULTI, PING) wait here, answered as the protocol says (+OK, +QUEUED), and go out ahead of it
 * with their replies dropped. A request refused inside the transaction (its key on another server,
 * no connection free) breaks it: the connection is closed, so nothing queued on the server runs,
 * and every request until the end is answered locally (EXEC: the protocol's abort). A blocking
 * command holds the client's reading until its reply, as the server holds its connection.
 *
 * <p>Confined to the client's event loop.
 */
final class Pins {

  /** What waits for a transaction's server may hold at most this much (frames, bytes). */
  static final int MAX_HELD = 1024;
  static final int MAX_HELD_BYTES = 1 << 20;

  private final ReplyQueue replies;
  private final ReadGate sender;
  private final ByteBufAllocator alloc;
  /** The transaction's connection, once a key chose its server. */
  private Pin talk;
  /** The last transaction's connection while its EXEC or DISCARD is answered (reusable). */
  private Pin ending;
  /** A request of the transaction was refused: the rest is answered locally until its end. */
  private boolean broken;
  /** Requests of the transaction waiting for its server (their replies already given). */
  private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();
  private int heldBytes;
  /** Blocking commands in flight, each on its own connection. */
  private final List<Pin> alone = new ArrayList<>(1);
  private boolean closed;

  Pins(ReplyQueue replies, ReadGate sender, ByteBufAllocator alloc) {
    this.replies = replies;
    this.sender = sender;
    this.alloc = alloc;
  }

  /** Whether a transaction is under way (its requests must keep to this generation). */
  boolean inConversation() {
    return talk != null || broken || !held.isEmpty();
  }

  /** Handles a {@link Request.Kind#PINNED} request with {@code pool}'s routing; takes its frame. */
  void dispatch(Request request, Pool pool, Upstream part) {
    Step step = request.step();
    if (step == Step.REFUSED) {
      replies.local(request.frame(), false);
      breakOff();
      return;
    }
    if (step == Step.ALONE) {
      alone(request, pool, part);
      return;
    }
    if (broken && !(step == Step.OPEN && talk == null)) {
      local(request, true);
      broken = step != Step.CLOSE && step != Step.DROP;
      return;
    }
    broken = false;
    boolean keyed = request.hasKey() || request.splitter() != null;
    if (talk == null && !keyed && step != Step.OPEN
        && (step != Step.CLOSE || held.isEmpty())) {
      if (step == Step.USE) {
        hold(request);
      } else {
        local(request, false); // nothing reached a server: nothing to run or discard there
        dropHeld();
      }
      return;
    }
    // Without a key it goes where the transaction is (or, for EXEC, to the keyless server).
    Routed routed = !keyed && talk != null ? new Routed(talk.server, request.frame())
        : route(request, pool);
    if (routed == null) {
      if (step != Step.OPEN) { // a refused WATCH watches nothing, as in Redis
        breakOff();
      }
      return;
    }
    if (talk == null) {
      if (ending != null && !ending.given && !ending.doomed && ending.part == part
          && ending.server == routed.server && ending.dialect == request.dialect()) {
        // The last transaction's connection, its EXEC still to be answered: a client that
        // pipelines transactions to one server keeps one connection, as on Redis.
        talk = ending;
      } else {
        BackendConnection c = part.takePinned(routed.server, request.dialect());
        if (c == null) {
          refuse(request, routed.frame, noneFree(pool, routed.server), step != Step.OPEN);
          return;
        }
        talk = new Pin(this, part, c, routed.server, request.dialect());
      }
      ending = null;
      while (!held.isEmpty()) {
        talk.outstanding++;
        talk.connection.send(PinnedReply.dropped(talk), held.poll());
      }
      heldBytes = 0;
    } else if (routed.server != talk.server) {
      refuse(request, routed.frame, "its key is on server '" + pool.serverName(routed.server)
          + "', the transaction's on '" + pool.serverName(talk.server)
          + "' (a hash tag keeps keys together)", step != Step.OPEN);
      return;
    }
    Pin pin = talk;
    boolean ends = step == Step.CLOSE || step == Step.DROP;
    if (ends) {
      talk = null; // given back once answered, unless the next transaction takes it first
      ending = pin;
    }
    send(pool, pin, request, routed.frame, ends, 0);
  }

  private void alone(Request request, Pool pool, Upstream part) {
    Routed routed = route(request, pool);
    if (routed == null) {
      return;
    }
    BackendConnection c = part.takePinned(routed.server, request.dialect());
    if (c == null) {
      refuse(request, routed.frame, noneFree(pool, routed.server), false);
      return;
    }
    Pin pin = new Pin(this, part, c, routed.server, request.dialect());
    alone.add(pin);
    send(pool, pin, request, routed.frame, true, request.blockMillis());
    // The server runs nothing else on its connection until the reply: so the client's later
    // requests wait for it (read meanwhile, so that its leaving is seen).
    sender.holdRequests(pin);
  }

  private void send(Pool pool, Pin pin, Request request, ByteBuf frame, boolean ends,
      long extraWait) {
    RequestObserver observer = pool.options().observer();
    PendingReply reply = replies.routed(request, frame.readableBytes(), observer == null ? null
        : Observation.of(pool, observer, frame, frame, request.keyIndex(),
            request.splitter() == null ? request.keyLength() : -1, pin.server,
            request.step() == Step.ALONE));
    pin.outstanding++;
    pin.connection.send(new PinnedReply(reply, pin, ends, extraWait), frame);
    if (pin.connection.congested()) {
      pin.connection.park(sender);
    }
  }

  /** Where {@code request} goes, or {@code null} when it was answered an error (and released). */
  private Routed route(Request request, Pool pool) {
    ByteBuf frame = request.frame();
    Splitter together = request.splitter();
    int server;
    if (together != null) {
      Splitter.Split split;
      try {
        split = together.split(frame, pool.view(), alloc);
      } finally {
        frame.release();
      }
      ByteBuf refusal = split.refusal(alloc);
      if (refusal != null || split.size() != 1) {
        split.discard();
        if (refusal != null) {
          replies.local(refusal, false);
        } else {
          replies.routed(request, 0, null).onError(
              "its keys are on different servers (a hash tag keeps keys together)");
        }
        return null;
      }
      server = split.server(0);
      frame = split.fragment(0);
    } else {
      ByteBuf key = request.routingKey();
      server = !request.hasKey() ? pool.router().serverForKeyless()
          : pool.router().serverFor(key == null ? frame : key, request.keyIndex(),
              request.keyLength());
      if (key != null) {
        key.release();
      }
    }
    String refused = server == KeyRouter.NO_SERVER ? ErrorText.REFUSED
        : pool.router().refusal(server);
    if (refused != null) {
      frame.release();
      replies.routed(request, 0, null).onError(refused);
      return null;
    }
    return new Routed(server, frame);
  }

  private record Routed(int server, ByteBuf frame) {}

  private void refuse(Request request, ByteBuf frame, String why, boolean breaks) {
    frame.release();
    replies.routed(request, 0, null).onError(why);
    if (breaks) {
      breakOff();
    }
  }

  private static String noneFree(Pool pool, int server) {
    return "no private connection to server '" + pool.serverName(server) + "' is free"
        + " (max_pinned_connections " + pool.config().maxPinnedConnections() + ")";
  }

  private void local(Request request, boolean whileBroken) {
    ByteBuf frame = request.frame();
    try {
      replies.local(request.conversation().localReply(frame, request.step(), whileBroken, alloc),
          false);
    } finally {
      frame.release();
    }
  }

  private void hold(Request request) {
    ByteBuf frame = request.frame();
    if (held.size() >= MAX_HELD || heldBytes + frame.readableBytes() > MAX_HELD_BYTES) {
      frame.release();
      replies.routed(request, 0, null).onError("more than " + MAX_HELD + " requests or "
          + (MAX_HELD_BYTES >> 10) + " KiB without a key in a transaction");
      breakOff();
      return;
    }
    local(request.conversation().localReply(frame, request.step(), false, alloc));
    // A copy: a slice would keep the whole read buffer it came from alive while it waits.
    held.add(alloc.buffer(frame.readableBytes()).writeBytes(frame));
    heldBytes += frame.readableBytes();
    frame.release();
  }

  private void local(ByteBuf reply) {
    replies.local(reply, false);
  }

  private void dropHeld() {
    while (!held.isEmpty()) {
      held.poll().release();
    }
    heldBytes = 0;
  }

  /**
   * The transaction broke: what the server queued must not run, so its connection closes, once
   * the requests already sent on it are answered (their +QUEUED is owed as Redis would send it).
   */
  private void breakOff() {
    broken = true;
    dropHeld();
    if (talk != null) {
      Pin pin = talk;
      talk = null;
      pin.doomed = true;
      if (pin.outstanding == 0) {
        give(pin, false);
      }
    }
  }

  /** A request on {@code pin} ended: {@code last} of its conversation, {@code ok} or failed. */
  void answered(Pin pin, boolean last, boolean ok) {
    pin.outstanding--;
    if (!ok && pin == talk) {
      talk = null;
      broken = true; // the server's transaction died with the connection
      dropHeld();
    }
    // Given back once its conversation ended and all on it is answered; a reused one
    // (pin == talk) stays.
    if (!ok || (pin != talk && pin.outstanding == 0 && (last || pin.doomed))) {
      if (pin == ending) {
        ending = null;
      }
      give(pin, ok && !pin.doomed);
    }
    if ((!ok || last) && alone.remove(pin)) {
      sender.releaseRequests(pin);
    }
  }

  /** The client sent its last request: its blocking commands are given up (answered errors). */
  void endBlocks() {
    for (Pin p : List.copyOf(alone)) {
      give(p, false);
    }
  }

  private void give(Pin pin, boolean clean) {
    if (!pin.given) {
      pin.given = true;
      pin.part.givePinned(pin.connection, pin.server, pin.dialect, clean && !closed);
    }
  }

  /** The client went: every connection it holds is closed (its server state is unknown). */
  void close() {
    closed = true;
    dropHeld();
    for (Pin pin : new Pin[] {talk, ending}) {
      if (pin != null) {
        give(pin, false);
      }
    }
    talk = null;
    ending = null;
    for (Pin p : List.copyOf(alone)) {
      give(p, false);
    }
    alone.clear();
  }

  /** One private connection as one client holds it. */
  static final class Pin {
    private final Pins owner;
    private final Upstream part;
    private final BackendConnection connection;
    private final int server;
    private final int dialect;
    private boolean given;
    /** Requests sent on it and not answered yet. */
    private int outstanding;
    /** Its transaction broke: closed once {@link #outstanding} is 0. */
    private boolean doomed;

    Pin(Pins owner, Upstream part, BackendConnection connection, int server, int dialect) {
      this.owner = owner;
      this.part = part;
      this.connection = connection;
      this.server = server;
      this.dialect = dialect;
    }

    void answered(boolean last, boolean ok) {
      owner.answered(this, last, ok);
    }
  }
}
