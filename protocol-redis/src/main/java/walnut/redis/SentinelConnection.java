package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.function.Consumer;
import walnut.core.config.Endpoint;
import walnut.core.spi.ServerLocator;
import walnut.core.spi.ServerTrouble;

/**
 * One connection of the proxy's to one sentinel: either for questions, answered in order, or for
 * the announcements it subscribed to ({@code +switch-master}), since a subscribed connection takes
 * no other command. It authenticates first when the pool has a {@code sentinel_password}, and
 * tells its {@link Listener} when it is ready, each announcement, and when it is gone, once.
 *
 * <p>Confined to the watch's event loop.
 */
final class SentinelConnection extends ChannelInboundHandlerAdapter {

  /** Given to a question's callback when the connection closed before its answer came. */
  static final Object CLOSED = new Object();

  /**
   * The most bytes one reply of a sentinel may take: an answer to {@code SENTINEL MASTER} is
   * about a kilobyte, so a sentinel cannot make the proxy hold more for it.
   */
  static final int MAX_REPLY = 64 * 1024;

  /**
   * More announcements in a second than a sentinel ever sends (one per failover of each master
   * it watches): the connection is closed, and opened again after a back-off, rather than let one
   * sentinel hold the event loop every pool's watch and other clients share.
   */
  static final int MAX_ANNOUNCEMENTS_PER_SECOND = 100;

  /** The announcements the proxy listens for. */
  static final String SWITCH_MASTER = "+switch-master";

  interface Listener {
    /** Authenticated (and subscribed, for announcements): questions may be asked. */
    void ready(SentinelConnection connection);

    /** An announcement: {@code message}, channel, text. */
    void announced(SentinelConnection connection, List<Object> message);

    /** The connection is gone, for {@code why}; called once, also when the connect failed. */
    void closed(SentinelConnection connection, String why);
  }

  final boolean announcements;
  private final Listener listener;
  private final Deque<Consumer<Object>> waiting = new ArrayDeque<>();
  /** When each waiting question was asked, on the channel's ticker. */
  private final Deque<Long> askedAt = new ArrayDeque<>();
  private Channel channel;
  private long second;
  private int heardThisSecond;
  private boolean ready;
  private boolean closed;

  /**
   * A connection to a sentinel; with {@code announcements}, it subscribes to
   * {@code +switch-master}. {@link #connect} starts it.
   */
  SentinelConnection(boolean announcements, Listener listener) {
    this.announcements = announcements;
    this.listener = listener;
  }

  /**
   * Connects to {@code address} through {@code context}, authenticating with {@code password}
   * when it is not {@code null}; the listener hears how it goes, perhaps before this returns.
   */
  void connect(ServerLocator.Context context, Endpoint address, String password) {
    SentinelConnection c = this;
    ChannelFuture f;
    try {
      f = context.open(address, new ChannelInitializer<>() {
        @Override
        protected void initChannel(Channel ch) {
          ch.pipeline().addLast("decoder", new RedisReplyDecoder(false, MAX_REPLY));
          ch.pipeline().addLast("sentinel", c);
        }
      });
    } catch (RuntimeException e) {
      c.closed = true;
      listener.closed(c, String.valueOf(e.getMessage()));
      return;
    }
    c.channel = f.channel();
    f.addListener(done -> {
      if (!done.isSuccess()) {
        c.close(connectFailure(done.cause()));
      } else if (!c.closed) {
        c.start(password);
      }
    });
  }

  private static String connectFailure(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t.getMessage() != null) {
        return t.getMessage();
      }
    }
    return cause.toString();
  }

  private void start(String password) {
    if (password != null) {
      ask(reply -> {
        if (reply instanceof RespValue.Error e) {
          close("AUTH failed: " + e.message());
        }
      }, "AUTH", password);
    }
    if (announcements) {
      ask(reply -> {
        if (reply instanceof RespValue.Error e) {
          close("SUBSCRIBE failed: " + e.message());
        } else if (reply != CLOSED) {
          opened();
        }
      }, "SUBSCRIBE", SWITCH_MASTER);
    } else if (password != null) {
      ask(reply -> {
        if (reply != CLOSED && !(reply instanceof RespValue.Error)) {
          opened();
        }
      }, "PING");
    } else {
      opened();
    }
  }

  private void opened() {
    if (!closed) {
      ready = true;
      listener.ready(this);
    }
  }

  boolean ready() {
    return ready && !closed;
  }

  boolean closed() {
    return closed;
  }

  /** Whether questions are still unanswered. */
  boolean owes() {
    return !waiting.isEmpty();
  }

  /** Whether the oldest unanswered question was asked more than {@code limitNanos} ago. */
  boolean overdue(long limitNanos) {
    Long oldest = askedAt.peek();
    return !closed && oldest != null && now() - oldest > limitNanos;
  }

  private long now() {
    return channel.eventLoop().ticker().nanoTime();
  }

  /**
   * Asks {@code args}; {@code answer} gets the reply's value, or {@link #CLOSED}. Nothing is sent
   * on a closed connection: the answer is {@link #CLOSED} at once.
   */
  void ask(Consumer<Object> answer, String... args) {
    if (closed) {
      answer.accept(CLOSED);
      return;
    }
    waiting.add(answer);
    askedAt.add(now());
    channel.writeAndFlush(RespValue.command(channel.alloc(), args), channel.voidPromise());
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (closed) {
        return;
      }
      ByteBuf frame = msg instanceof ServerTrouble t ? t.content()
          : msg instanceof ByteBuf b ? b : null;
      if (frame == null) {
        close("a reply a sentinel never sends (" + msg.getClass().getSimpleName() + ")");
        return;
      }
      Object value = RespValue.read(frame);
      if (announcements && ready && value instanceof List<?> list && list.size() == 3
          && "message".equals(list.get(0))) {
        long now = now() / 1_000_000_000L;
        heardThisSecond = now == second ? heardThisSecond + 1 : 1;
        second = now;
        if (heardThisSecond > MAX_ANNOUNCEMENTS_PER_SECOND) {
          close("more than " + MAX_ANNOUNCEMENTS_PER_SECOND + " announcements in a second");
          return;
        }
        @SuppressWarnings("unchecked")
        List<Object> message = (List<Object>) list;
        listener.announced(this, message);
        return;
      }
      Consumer<Object> answer = waiting.poll();
      askedAt.poll();
      if (answer == null) {
        close("a reply no question asked for");
        return;
      }
      answer.accept(value);
    } catch (RuntimeException e) {
      close("an unreadable reply (" + e + ")");
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    close("the sentinel closed the connection");
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    close(connectFailure(cause));
  }

  /** Closes the connection; unanswered questions get {@link #CLOSED}. Idempotent. */
  void close(String why) {
    if (closed) {
      return;
    }
    closed = true;
    ready = false;
    if (channel != null) {
      if (channel.pipeline().get("decoder") != null) {
        channel.pipeline().remove("decoder"); // what is left in it is never framed, nor read
      }
      channel.close();
    }
    askedAt.clear();
    Consumer<Object> answer;
    while ((answer = waiting.poll()) != null) {
      answer.accept(CLOSED);
    }
    listener.closed(this, why);
  }
}
