package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import walnut.core.spi.Conversation;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;

/**
 * One client's subscriptions (docs/compatibility.md#pubsub): SUBSCRIBE/UNSUBSCRIBE send each
 * channel to the server its name hashes to (where PUBLISH, routed as a key, sends its messages),
 * PSUBSCRIBE/PUNSUBSCRIBE send patterns to every server; the engine runs them on the client's
 * listening connections ({@link Conversation.Listener}).
 *
 * <p>The confirmations are Walnut's own: one per argument, in argument order, with the count of
 * the client's channels and patterns across all servers (Jedis leaves its loop when a count says
 * 0, so a server's own count, which knows only its share, would end it early), written once
 * every server involved has confirmed, so a client that publishes after its confirmation misses
 * nothing. They are computed when the request is decoded, in the order the client sent them;
 * where each channel went is recorded when it is sent, so an UNSUBSCRIBE reaches the server that
 * holds the subscription even after an ejection moved the channel's name elsewhere.
 *
 * <p>In RESP2 a subscribed client may only (un)subscribe, PING (answered {@code pong}) and QUIT,
 * as Redis says; in RESP3 its other commands run as usual. One per client connection, confined to
 * its event loop.
 */
final class PubSub implements Conversation.Listener {

  private static final byte[][] ANSWERS = {bytes("subscribe"), bytes("unsubscribe"),
      bytes("psubscribe"), bytes("punsubscribe"), bytes("ssubscribe"), bytes("sunsubscribe")};
  private static final byte[] MESSAGE = bytes("message");
  private static final byte[] PMESSAGE = bytes("pmessage");

  /** As the client sees them, in the order it sent them (decode time). */
  private final LinkedHashSet<String> channels = new LinkedHashSet<>();
  private final LinkedHashSet<String> patterns = new LinkedHashSet<>();
  /** Where each subscribed channel was sent, and how many per server (send time). */
  private final Map<String, Integer> sentTo = new HashMap<>();
  private int[] perServer = new int[0];
  private int patternsSent;

  /** Whether the client has a channel or a pattern (RESP2: subscribed mode). */
  boolean subscribed() {
    return !channels.isEmpty() || !patterns.isEmpty();
  }

  /** The request for SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE or PUNSUBSCRIBE; takes {@code frame}. */
  Request decide(ByteBufAllocator alloc, ByteBuf frame, RedisCommand command, boolean resp3) {
    boolean pattern = command.name.charAt(0) == 'P';
    boolean subscribe = !command.name.contains("UNSUB");
    LinkedHashSet<String> set = pattern ? patterns : channels;
    List<String> args = new ArrayList<>();
    FrameCursor cursor = new FrameCursor(frame, frame.readerIndex());
    cursor.next();
    while (cursor.next()) {
      args.add(frame.toString(cursor.start(), cursor.length(), StandardCharsets.ISO_8859_1));
    }
    String kind = command.name.toLowerCase(java.util.Locale.ROOT);
    ByteBuf replies = alloc.buffer();
    if (!subscribe && args.isEmpty()) {
      args.addAll(set); // all of them, one confirmation each
      if (args.isEmpty()) {
        confirm(replies, resp3, kind, null, total());
      }
    }
    List<String> send = new ArrayList<>();
    for (String name : args) {
      if (subscribe ? set.add(name) : set.remove(name)) {
        send.add(name);
      }
      confirm(replies, resp3, kind, name, total());
    }
    if (send.isEmpty()) {
      frame.release();
      return Request.local(replies); // nothing changes on any server
    }
    byte[] confirmations = ByteBufUtil.getBytes(replies);
    replies.release();
    return Request.pinned(frame, 0, -1,
        new Change(kind, pattern, subscribe, send, confirmations), this,
        Conversation.Step.LISTEN);
  }

  private int total() {
    return channels.size() + patterns.size();
  }

  private static void confirm(ByteBuf out, boolean resp3, String kind, String name, long count) {
    Resp.writeHeader(out, resp3 ? '>' : '*', 3);
    Resp.writeBulk(out, bytes(kind));
    if (name != null) {
      Resp.writeBulk(out, name.getBytes(StandardCharsets.ISO_8859_1));
    } else if (resp3) {
      out.writeByte('_').writeShort(Resp.CRLF);
    } else {
      out.writeByte('$').writeByte('-').writeByte('1').writeShort(Resp.CRLF);
    }
    Resp.writeHeader(out, ':', count);
  }

  /** Redis's {@code pong} in subscribed mode (RESP2): {@code ["pong", arg or ""]}. */
  static ByteBuf pong(ByteBufAllocator alloc, ByteBuf buf, int index, int length) {
    ByteBuf out = alloc.buffer(24 + length);
    Resp.writeHeader(out, '*', 2);
    Resp.writeBulk(out, bytes("pong"));
    if (length == 0) {
      Resp.writeBulk(out, new byte[0]); // PING alone: its index is not in the frame
    } else {
      Resp.writeBulk(out, buf, index, length);
    }
    return out;
  }

  @Override
  public boolean isAnswer(ByteBuf frame) {
    FrameCursor kind = kind(frame);
    if (kind == null) {
      return false;
    }
    for (byte[] answer : ANSWERS) {
      if (kind.length() == answer.length && same(frame, kind.start(), answer)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public boolean wants(ByteBuf frame) {
    FrameCursor kind = kind(frame);
    if (kind == null || kind.count() < 3) {
      return true;
    }
    LinkedHashSet<String> set;
    if (kind.length() == MESSAGE.length && same(frame, kind.start(), MESSAGE)) {
      set = channels;
    } else if (kind.length() == PMESSAGE.length && same(frame, kind.start(), PMESSAGE)) {
      set = patterns;
    } else {
      return true;
    }
    kind.next(); // the channel, or the pattern
    // As of the last request decoded: once the client sent UNSUBSCRIBE, what still comes is
    // dropped, as if published a moment later (Redis would write it before the confirmation).
    return set.contains(kind.text());
  }

  /** A cursor at the first element of an array or push (its kind), or {@code null}. */
  private static FrameCursor kind(ByteBuf frame) {
    int i = frame.readerIndex();
    byte type = frame.getByte(i);
    if (type != '*' && type != '>') {
      return null;
    }
    FrameCursor cursor = new FrameCursor(frame, i);
    return cursor.next() ? cursor : null;
  }

  private static boolean same(ByteBuf buf, int index, byte[] lower) {
    for (int i = 0; i < lower.length; i++) {
      if (buf.getByte(index + i) != lower[i]) {
        return false;
      }
    }
    return true;
  }

  @Override
  public boolean listensTo(int server) {
    return patternsSent > 0 || (server < perServer.length && perServer[server] > 0);
  }

  @Override
  public ByteBuf localReply(ByteBuf frame, Conversation.Step step, boolean broken,
      ByteBufAllocator alloc) {
    throw new UnsupportedOperationException("subscriptions are never answered here");
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /** One (un)subscription: the fragments per server, and the confirmations made at decode. */
  private final class Change implements Splitter {
    private final String kind;
    private final boolean pattern;
    private final boolean subscribe;
    private final List<String> names;
    private final byte[] confirmations;

    Change(String kind, boolean pattern, boolean subscribe, List<String> names,
        byte[] confirmations) {
      this.kind = kind;
      this.pattern = pattern;
      this.subscribe = subscribe;
      this.names = names;
      this.confirmations = confirmations;
    }

    @Override
    public String toString() {
      return "PubSub." + kind + names;
    }

    @Override
    public Split split(ByteBuf frame, KeyRouter router, ByteBufAllocator alloc) {
      int servers = router.servers();
      if (perServer.length < servers) {
        perServer = java.util.Arrays.copyOf(perServer, servers);
      }
      Map<Integer, List<String>> byServer = new java.util.TreeMap<>();
      if (pattern) {
        patternsSent += subscribe ? names.size() : -names.size();
        for (int s = 0; s < servers; s++) {
          // A server out of the ring has none of its channels now: the live ones have them.
          if (router.live(s)) {
            byServer.put(s, names);
          }
        }
      } else {
        for (String name : names) {
          Integer server;
          if (subscribe) {
            byte[] b = name.getBytes(StandardCharsets.ISO_8859_1);
            server = router.serverFor(io.netty.buffer.Unpooled.wrappedBuffer(b), 0, b.length);
            if (server != KeyRouter.NO_SERVER) {
              sentTo.put(name, server);
              perServer[server]++;
            }
          } else {
            server = sentTo.remove(name);
            if (server != null && server < perServer.length) {
              perServer[server]--;
            }
          }
          byServer.computeIfAbsent(server == null ? KeyRouter.NO_SERVER : server,
              s -> new ArrayList<>()).add(name);
        }
      }
      return new Fragments(kind, byServer, confirmations, alloc);
    }
  }

  /** The per-server commands, each answered once per name; merged into the confirmations. */
  private static final class Fragments implements Splitter.Split, Conversation.Answers {
    private final int[] servers;
    private final List<List<String>> names = new ArrayList<>();
    private final String kind;
    private final byte[] confirmations;
    private final ByteBufAllocator alloc;

    Fragments(String kind, Map<Integer, List<String>> byServer, byte[] confirmations,
        ByteBufAllocator alloc) {
      this.kind = kind;
      this.confirmations = confirmations;
      this.alloc = alloc;
      this.servers = new int[byServer.size()];
      int i = 0;
      for (Map.Entry<Integer, List<String>> e : byServer.entrySet()) {
        servers[i++] = e.getKey();
        names.add(e.getValue());
      }
    }

    @Override
    public int size() {
      return servers.length;
    }

    @Override
    public int server(int i) {
      return servers[i];
    }

    @Override
    public int answers(int i) {
      return names.get(i).size();
    }

    @Override
    public ByteBuf fragment(int i) {
      List<String> list = names.get(i);
      ByteBuf out = alloc.buffer();
      Resp.writeHeader(out, '*', list.size() + 1);
      Resp.writeBulk(out, bytes(kind));
      for (String name : list) {
        Resp.writeBulk(out, name.getBytes(StandardCharsets.ISO_8859_1));
      }
      return out;
    }

    @Override
    public ByteBuf merge(ByteBuf[] replies, ByteBufAllocator alloc) {
      return alloc.buffer(confirmations.length).writeBytes(confirmations);
    }

    @Override
    public void discard() {} // holds no buffer
  }
}
