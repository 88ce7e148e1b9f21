package walnut.core.proxy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.function.Consumer;
import walnut.core.spi.Conversation;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.ReplyPart;
import walnut.core.spi.Request;
import walnut.core.spi.ServerPush;
import walnut.core.spi.ServerTrouble;
import walnut.core.spi.Splitter;

/**
 * One client's listening connections ({@link Conversation.Listener}): at most one per server,
 * private, taken from the server's {@code max_pinned_connections} when a subscription first needs
 * it and closed when the client no longer listens there, leaves, or one of them fails.
 *
 * <p>A subscription request is split per server; each fragment waits on its connection for as
 * many answers as the split says, and the client's reply (the protocol's merge) is written in its
 * turn once every server answered, so a client that publishes after its confirmation misses
 * nothing. Every other frame is a message, written to the client as it comes, behind the replies
 * it is owed; its budget ({@link ReplyQueue}) bounds what a slow subscriber holds, as Redis's
 * output buffer limit does. A subscriber whose listening connection fails, or that could not get
 * one, is closed after its replies: it could not be told which of its subscriptions hold, and
 * clients resubscribe when they reconnect.
 *
 * <p>Confined to the client's event loop.
 */
final class Subscriptions {

  private final ReplyQueue replies;
  private final ByteBufAllocator alloc;
  /** By server; null where the client does not listen. */
  private Listening[] byServer = new Listening[0];
  private int open;
  private boolean closed;

  Subscriptions(ReplyQueue replies, ByteBufAllocator alloc) {
    this.replies = replies;
    this.alloc = alloc;
  }

  /** Whether the client listens anywhere (it keeps to its generation of the pool meanwhile). */
  boolean active() {
    return open > 0;
  }

  /** Handles a {@link Conversation.Step#LISTEN} request; takes its frame. */
  void dispatch(Request request, Pool pool, Upstream part) {
    Conversation.Listener listener = (Conversation.Listener) request.conversation();
    ByteBuf frame = request.frame();
    int bytes = frame.readableBytes();
    Splitter.Split split;
    try {
      split = request.splitter().split(frame, pool.view(), alloc);
    } finally {
      frame.release();
    }
    ByteBuf refused = split.refusal(alloc);
    if (refused != null) {
      split.discard();
      replies.local(refused, false);
      return;
    }
    if (byServer.length < pool.config().servers().size()) {
      byServer = java.util.Arrays.copyOf(byServer, pool.config().servers().size());
    }
    PendingReply reply = replies.split(split, bytes, false, null);
    Conversation.Answers answers = (Conversation.Answers) split;
    boolean failed = false;
    for (int i = 0; i < split.size(); i++) {
      int server = split.server(i);
      ByteBuf fragment = split.fragment(i);
      String why = server == KeyRouter.NO_SERVER ? ErrorText.REFUSED
          : pool.router().refusal(server);
      Listening listening = why == null ? listening(server, request, pool, part, listener) : null;
      if (listening == null) {
        fragment.release();
        reply.partError(i, why != null ? why : "no private connection to server '"
            + pool.serverName(server) + "' is free (max_pinned_connections "
            + pool.config().maxPinnedConnections() + ")");
        failed = true;
      } else {
        listening.send(fragment, new PendingReply.Fragment(reply, i), answers.answers(i));
      }
    }
    if (failed) {
      replies.local(Unpooled.EMPTY_BUFFER, true); // after the error: see the class comment
    }
  }

  private Listening listening(int server, Request request, Pool pool, Upstream part,
      Conversation.Listener listener) {
    Listening l = byServer[server];
    if (l != null) {
      return l;
    }
    BackendConnection c = part.takePinned(server, request.dialect());
    if (c == null) {
      return null;
    }
    l = new Listening(part, c, server, request.dialect(), listener);
    byServer[server] = l;
    open++;
    c.listen(l);
    return l;
  }

  /** The client went: every listening connection closes. */
  void close() {
    closed = true;
    for (Listening l : byServer) {
      if (l != null) {
        l.giveBack();
      }
    }
  }

  /** One server's listening connection of this client. */
  private final class Listening implements Consumer<Object> {
    private final Upstream part;
    private final BackendConnection connection;
    private final int server;
    private final int dialect;
    private final Conversation.Listener listener;
    /** The fragments sent, waiting for their answers, in order. */
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    private CompositeByteBuf gathered; // a long message's parts so far
    private boolean guarded;
    private boolean given;

    Listening(Upstream part, BackendConnection connection, int server, int dialect,
        Conversation.Listener listener) {
      this.part = part;
      this.connection = connection;
      this.server = server;
      this.dialect = dialect;
      this.listener = listener;
    }

    void send(ByteBuf fragment, ReplyHandler handler, int answers) {
      waiting.add(new Waiting(handler, answers));
      // The first request takes the connection's one place in its queue, for good: answers come
      // here, never to the queue, and its failure is how a dead connection is noticed.
      connection.send(guarded ? ReplyHandler.NO_REPLY : new Guard(), fragment);
      guarded = true;
      if (answers == 0) {
        answered();
      }
    }

    @Override
    public void accept(Object msg) {
      ByteBuf frame;
      if (msg instanceof ReplyPart p) {
        if (gathered == null) {
          gathered = alloc.compositeBuffer(Integer.MAX_VALUE);
        }
        gathered.addComponent(true, p.content());
        if (!p.last()) {
          return;
        }
        frame = gathered;
        gathered = null;
      } else if (msg instanceof ServerPush push) {
        frame = push.content();
      } else if (msg instanceof ServerTrouble trouble) {
        frame = trouble.content();
      } else {
        frame = (ByteBuf) msg;
      }
      if (given || closed) {
        frame.release();
      } else if (listener.isAnswer(frame)) {
        frame.release();
        Waiting head = waiting.peek();
        if (head != null && --head.remaining <= 0) {
          answered();
        }
      } else if (!listener.wants(frame)) {
        frame.release(); // of what it unsubscribed from: never after the confirmation
      } else {
        replies.local(frame, false); // a message: behind what the client is owed
      }
    }

    private void answered() {
      Waiting head = waiting.poll();
      head.handler.onReply(Unpooled.EMPTY_BUFFER);
      if (waiting.isEmpty() && !listener.listensTo(server)) {
        giveBack();
      }
    }

    void giveBack() {
      if (!given) {
        given = true;
        byServer[server] = null;
        open--;
        ReferenceCountUtil.safeRelease(gathered);
        gathered = null;
        part.givePinned(connection, server, dialect, false); // closed: it is subscribed
        failWaiting(ErrorText.UNKNOWN);
      }
    }

    private void failWaiting(String reason) {
      for (Waiting w; (w = waiting.poll()) != null; ) {
        w.handler.onError(reason);
      }
    }

    /** The connection failed (or was refused): its subscriptions are gone. */
    private final class Guard implements ReplyHandler {
      @Override
      public void onReply(ByteBuf reply) {
        reply.release(); // never: its answers go to accept()
      }

      @Override
      public void onError(String reason) {
        if (!given) {
          failWaiting(reason);
          giveBack();
          // Closed once what it is owed is written: the subscription's error first (a RESP3
          // client's block, if one is owed before it, ends by its own timeout).
          replies.local(Unpooled.EMPTY_BUFFER, true);
        }
      }

      @Override
      public long extraWaitMillis() {
        return -1; // a subscriber waits as long as it likes
      }
    }
  }

  private static final class Waiting {
    final ReplyHandler handler;
    int remaining;

    Waiting(ReplyHandler handler, int remaining) {
      this.handler = handler;
      this.remaining = remaining;
    }
  }
}
