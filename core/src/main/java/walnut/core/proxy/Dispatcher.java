package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.spi.Conversation;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;
import walnut.core.stats.PoolStat;

/**
 * Takes one client's requests where they go: a local reply into its {@link ReplyQueue}, a routed
 * request to the server its key hashes to, a split request to one server per fragment, each
 * through the pool's {@link Upstream} with the reply's place already taken in the queue.
 *
 * <p>Ownership: takes each request's frame (sent on, released, or kept as the local reply) and
 * recycles the request object. Confined to the client's event loop.
 */
final class Dispatcher {

  private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

  private final ReplyQueue replies;
  /** The client's reading, held by a backend connection that cannot take more. */
  private final ReadGate sender;
  private final ByteBufAllocator alloc;
  private Pool pool;
  private Upstream upstream;
  /** The connection slot this client uses on every server of its pool. */
  private int slot;
  /** Its private connections: transactions and blocking commands. */
  private final Pins pins;
  /** Its listening connections: subscriptions. */
  private final Subscriptions subscriptions;

  Dispatcher(ReplyQueue replies, ReadGate sender, ByteBufAllocator alloc, Pool pool,
      Upstream upstream) {
    this.replies = replies;
    this.sender = sender;
    this.alloc = alloc;
    this.pins = new Pins(replies, sender, alloc);
    this.subscriptions = new Subscriptions(replies, alloc);
    moveTo(pool, upstream);
  }

  /** Routes the next requests with {@code next}, a reload's new generation of the pool. */
  void moveTo(Pool next, Upstream nextUpstream) {
    this.pool = next;
    this.upstream = nextUpstream;
    this.slot = nextUpstream.nextSlot();
  }

  /**
   * Whether a transaction is under way: it keeps to its generation of the pool, since its server
   * was chosen there (the session moves after a reload once it ends).
   */
  boolean inConversation() {
    return pins.inConversation() || subscriptions.active();
  }

  /** The client sent its last request: a block it waits for is given up (answered an error). */
  void inputShutdown() {
    pins.endBlocks();
  }

  /** Whether the client has subscriptions (it waits for messages, sending nothing). */
  boolean listening() {
    return subscriptions.active();
  }

  /** The client went: its private connections are closed. */
  void close() {
    pins.close();
    subscriptions.close();
  }

  /** Handles {@code request} and recycles it. */
  void dispatch(Request request) {
    try {
      switch (request.kind()) {
        case LOCAL -> replies.local(request.frame(), request.closeAfterReply());
        case ROUTED -> routed(request);
        case SPLIT -> split(request);
        case PINNED -> {
          if (request.step() == Conversation.Step.LISTEN) {
            subscriptions.dispatch(request, pool, upstream);
          } else {
            pins.dispatch(request, pool, upstream);
          }
        }
      }
    } finally {
      request.recycle(); // its frame went on, or was released; the object is done with
    }
  }

  private void routed(Request request) {
    ByteBuf frame = request.frame();
    ByteBuf key = request.routingKey();
    int server;
    try {
      server = !request.hasKey() ? pool.router().serverForKeyless()
          : pool.router().serverFor(key == null ? frame : key, request.keyIndex(),
              request.keyLength());
    } catch (RuntimeException e) {
      request.release();
      throw e; // the session closes the client: no place was taken in its queue
    }
    String refused = refusal(server);
    RequestObserver observer = pool.options().observer();
    Observation observed = observer == null || !request.expectsReply() ? null
        : Observation.of(pool, observer, frame, key == null ? frame : key, request.keyIndex(),
            request.keyLength(), server, false);
    if (key != null) {
      key.release();
    }
    if (!request.expectsReply()) {
      if (refused != null) {
        frame.release();
      } else {
        upstream.send(server, slot, request.dialect(), frame, ReplyHandler.NO_REPLY, sender);
      }
      return;
    }
    PendingReply reply = replies.routed(request, frame.readableBytes(), observed);
    if (refused != null) {
      frame.release();
      reply.onError(refused);
    } else {
      upstream.send(server, slot, request.dialect(), frame, reply, sender);
    }
  }

  /**
   * Why a request for {@code server} is answered an error without being sent: no server is live,
   * or (with {@code auto_eject_remap: false}) this one is ejected; {@code null} to send it.
   */
  private String refusal(int server) {
    return server == KeyRouter.NO_SERVER ? ErrorText.REFUSED : pool.router().refusal(server);
  }

  private void split(Request request) {
    Splitter.Split split;
    int bytes = request.frame().readableBytes();
    RequestObserver observer = pool.options().observer();
    String command = observer == null ? null : Observation.commandName(pool, request.frame());
    try {
      split = request.splitter().split(request.frame(), pool.view(), alloc);
    } finally {
      request.frame().release();
    }
    ByteBuf refusedWhole = split.refusal(alloc);
    if (refusedWhole != null) {
      split.discard();
      replies.local(refusedWhole, false);
      return;
    }
    Observation observed = null;
    if (observer != null) {
      int[] servers = new int[split.size()];
      for (int i = 0; i < servers.length; i++) {
        servers[i] = split.server(i);
      }
      observed = Observation.split(pool, command, bytes, servers, servers.length);
    }
    PendingReply reply = replies.split(split, bytes, pool.config().mgetPartialErrors(), observed);
    pool.poolStats().add(PoolStat.FRAGMENTS, split.size());
    int sent = 0;
    try {
      for (; sent < split.size(); sent++) {
        int server = split.server(sent);
        ByteBuf fragment = split.fragment(sent);
        String refused = refusal(server);
        if (refused != null) {
          fragment.release();
          reply.partError(sent, refused);
        } else {
          upstream.send(server, slot, request.dialect(), fragment,
              new PendingReply.Fragment(reply, sent), sender);
        }
      }
    } catch (RuntimeException e) {
      split.discard();
      for (; sent < split.size(); sent++) {
        reply.partError(sent, ErrorText.INVALID);
      }
      log.error("pool '{}': splitting a request failed", pool.config().name(), e);
    }
  }
}
