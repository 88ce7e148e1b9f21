package walnut.core.proxy;

import static java.nio.charset.StandardCharsets.US_ASCII;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import walnut.core.config.PoolConfig;
import walnut.core.spi.AbstractSplit;
import walnut.core.spi.Conversation;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.PartialReplies;
import walnut.core.spi.ReplyPart;
import walnut.core.spi.ServerPush;
import walnut.core.spi.ServerLocator;
import walnut.core.spi.ServerTrouble;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;

/**
 * A tiny line-based fake {@link walnut.core.spi.Protocol} for engine tests on EmbeddedChannel.
 *
 * <p>Client side: '\n'-terminated ASCII lines, tokens separated by single spaces, the command
 * (first token) matched case-sensitively. Every forwarded frame is the exact line, '\n' included.
 * <ul>
 *   <li>{@code get KEY}, {@code set KEY VALUE}: {@link Request#routed} by KEY.
 *   <li>{@code noreply KEY ...}: {@link Request#routedNoReply} by KEY.
 *   <li>{@code quiet KEY ...}: {@link Request#routedQuiet} by KEY; a reply {@code MISS\n} is
 *       suppressed.
 *   <li>{@code keyless ...}: {@link Request#keyless}.
 *   <li>{@code mget K1 K2 ...}: {@link Request#split} with {@link #MGET}: one fragment
 *       {@code mget k.. \n} per server (servers in first-appearance order, keys in their relative
 *       order); each server answers {@code v1 v2 ...\n}, one token per key of its fragment; the
 *       merge is {@code v1 v2 ...\n} in the original key order, or {@code null} when a reply starts
 *       with {@code ERR} or has the wrong token count.
 *   <li>{@code ping}: local {@code PONG\n}; {@code quit}: local then close {@code BYE\n}.
 *   <li>a line starting with {@code !}, or a line of more than {@link #MAX_LINE} bytes before its
 *       '\n': {@link Request#protocolError} {@code ERR protocol\n}; every later byte of the
 *       connection is discarded.
 *   <li>A transaction ({@link #TX}, a {@link Conversation}): {@code multi}, {@code t.ping}
 *       (USE, keyless), {@code exec} (CLOSE), {@code discard} (DROP), {@code watch KEY} (OPEN),
 *       {@code t.get KEY} (USE), {@code t.refused} (REFUSED, the reply {@code ERR refused}); and
 *       {@code bpop KEY MILLIS|forever} (ALONE, blocking that long). Answered locally: multi and
 *       discard {@code OK}, exec {@code EMPTY} or, broken, {@code EXECABORT}, the rest
 *       {@code QUEUED}.
 *   <li>Subscriptions ({@link Subscribing}, one per client): {@code sub K...} and
 *       {@code unsub K...} (LISTEN): one fragment {@code sub k..} per server of the keys; each
 *       key is answered by a server line starting {@code ack}, any other line on a listening
 *       connection is a message for the client; the client's reply is {@code SUBSCRIBED\n} or
 *       {@code UNSUBSCRIBED\n}; it listens to a server while a key of it is subscribed.
 *   <li>{@code @} before any of these: the same request, of dialect 1 (its connections say
 *       {@code hello 3} first); the frame keeps the {@code @}.
 *   <li>anything else (an unknown command, an empty line, a keyed command without its key, an
 *       mget without keys, a set without a value): local {@code ERR unknown\n}, connection stays.
 * </ul>
 *
 * <p>Backend side: each '\n'-terminated line is one reply (a retained slice, '\n' included), except
 * {@code STREAM n\n}, which with the n raw bytes after it is one reply always emitted as
 * {@link ReplyPart}s: the first holds the header and whatever body bytes have arrived, each later
 * read what arrived of the rest, and the part completing the n bytes has {@code last} set (when the
 * whole reply is already there, or n is 0, the first part is also the last). {@code BROKEN\n}, or
 * a {@code STREAM} line whose length is not a non-negative decimal integer, throws a
 * {@link DecoderException}, after which the decoder discards every later byte. A line starting
 * {@code TROUBLE} (a server reporting trouble of its own, as Redis's {@code -LOADING}) comes as a
 * {@link ServerTrouble}, and one starting {@code PUSH} (a server's push message, as RESP3's
 * {@code >}) as a {@link ServerPush}. {@code script K …} is routed by K and owns its error replies.
 *
 * <p>Health probe: {@code probe\n}; any answer but {@code TROUBLE…} passes. With partial errors, an
 * mget's failed fragment gives each of its keys the error reply as a token ({@code ERR_reason}).
 *
 * <p>The {@code pool} arguments are ignored (tests may pass {@code null}).
 */
public final class LineProtocol implements walnut.core.spi.Protocol {

  /** The longest line content (the bytes before '\n') the request decoder accepts. */
  public static final int MAX_LINE = 1024;

  public static final String PONG = "PONG\n";
  public static final String BYE = "BYE\n";
  public static final String PROTOCOL_ERROR = "ERR protocol\n";
  public static final String UNKNOWN = "ERR unknown\n";
  /** The reply a {@code quiet} request's filter suppresses. */
  public static final String MISS = "MISS\n";

  /** The conversation of the transaction commands. */
  public static final Conversation TX = (frame, step, broken, alloc) -> {
    String line = frame.toString(US_ASCII);
    String reply = line.startsWith("exec") ? (broken ? "EXECABORT\n" : "EMPTY\n")
        : line.startsWith("multi") || line.startsWith("discard") ? "OK\n" : "QUEUED\n";
    return ascii(alloc, reply);
  };

  /** {@code get}, {@code set} and {@code mget} by name (for observers); the rest unnamed. */
  @Override
  public String commandName(ByteBuf frame) {
    for (String name : new String[] {"get", "set", "mget"}) {
      int n = name.length();
      if (frame.readableBytes() > n && frame.getByte(frame.readerIndex() + n) == ' '
          && frame.toString(frame.readerIndex(), n, US_ASCII).equals(name)) {
        return name;
      }
    }
    return null;
  }

  /** The splitter of {@code mget}; stateless and shared. */
  public static final Splitter MGET = new MgetSplitter();

  /** Suppresses exactly {@link #MISS}. */
  public static final Request.ReplyFilter QUIET_FILTER = reply -> equalsAscii(reply, MISS);

  private final List<String> handshakeLines;
  /** When set, the servers move ({@link #locator}) and every handshake ends with {@code role}. */
  private final ServerLocator locator;

  /** Without a handshake. */
  public LineProtocol() {
    this(List.of());
  }

  /**
   * With a handshake: each line (a '\n' is appended unless it ends with one) is sent first on every
   * backend connection, and each must be answered {@code OK\n}.
   */
  public LineProtocol(List<String> handshakeLines) {
    this(handshakeLines, null);
  }

  private LineProtocol(List<String> handshakeLines, ServerLocator locator) {
    this.handshakeLines = List.copyOf(handshakeLines);
    this.locator = locator;
  }

  /**
   * As Redis in a pool with sentinels: {@code locator} says where the servers are, every
   * handshake ends with {@code role\n}, whose reply {@code replica…} means the server is no
   * master, and a reply line starting {@code READONLY} comes as a not-primary trouble.
   */
  public static LineProtocol moving(ServerLocator locator) {
    return new LineProtocol(List.of(), locator);
  }

  @Override
  public ServerLocator locator(PoolConfig pool) {
    return locator;
  }

  @Override
  public boolean notPrimary(PoolConfig pool, int dialect, int index, ByteBuf reply) {
    return locator != null && index == handshakeLines.size() + dialect
        && reply.readableBytes() >= 7 && regionEquals(reply, reply.readerIndex(),
            reply.readerIndex() + 7, "replica");
  }

  @Override
  public String name() {
    return "line";
  }

  @Override
  public ChannelHandler newRequestDecoder(PoolConfig pool) {
    return new RequestDecoder();
  }

  @Override
  public ChannelHandler newReplyDecoder(PoolConfig pool) {
    return new ReplyDecoder(locator != null);
  }

  @Override
  public List<ByteBuf> handshake(PoolConfig pool, ByteBufAllocator alloc) {
    List<ByteBuf> steps = new ArrayList<>(handshakeLines.size());
    for (String line : handshakeLines) {
      steps.add(ascii(alloc, line.endsWith("\n") ? line : line + "\n"));
    }
    return steps;
  }

  /** Two dialects: a request line starting {@code @} needs a connection of dialect 1. */
  @Override
  public int dialects() {
    return 2;
  }

  /** Dialect 1's connections say {@code hello 3} after the handshake's other lines. */
  @Override
  public List<ByteBuf> handshake(PoolConfig pool, int dialect, ByteBufAllocator alloc) {
    List<ByteBuf> steps = new ArrayList<>(handshake(pool, alloc));
    if (dialect == 1) {
      steps.add(ascii(alloc, "hello 3\n"));
    }
    if (locator != null) {
      steps.add(ascii(alloc, "role\n"));
    }
    return steps;
  }

  /** Dialect 1 is refused when the server answers its {@code hello 3} with {@code ERR …}. */
  @Override
  public boolean refusesDialect(PoolConfig pool, int dialect, int index, ByteBuf reply) {
    return dialect == 1 && index == handshakeLines.size() && reply.readableBytes() >= 3
        && reply.toString(reply.readerIndex(), 3, US_ASCII).equals("ERR");
  }

  /** {@code null} for {@code OK\n}, else {@code handshake step <index>: <reply without '\n'>}. */
  @Override
  public String checkHandshakeReply(PoolConfig pool, int index, ByteBuf reply) {
    if (equalsAscii(reply, "OK\n") || (locator != null && index == handshakeLines.size())) {
      return null;
    }
    String text = reply.toString(US_ASCII);
    if (text.endsWith("\n")) {
      text = text.substring(0, text.length() - 1);
    }
    return "handshake step " + index + ": " + text;
  }

  /** {@link #err}{@code (message)}. */
  /** {@code probe\n}. */
  @Override
  public ByteBuf healthProbe(PoolConfig pool, ByteBufAllocator alloc) {
    return ascii(alloc, "probe\n");
  }


  @Override
  public ByteBuf errorReply(ByteBufAllocator alloc, String message) {
    return ascii(alloc, err(message));
  }

  /** An error reply's text: {@code ERR <message>\n}. */
  public static String err(String message) {
    return "ERR " + message + "\n";
  }

  static ByteBuf ascii(ByteBufAllocator alloc, String text) {
    byte[] bytes = text.getBytes(US_ASCII);
    return alloc.buffer(bytes.length).writeBytes(bytes);
  }

  /** Whether {@code buf}'s readable bytes are exactly {@code text}; changes no index. */
  static boolean equalsAscii(ByteBuf buf, String text) {
    if (buf.readableBytes() != text.length()) {
      return false;
    }
    int at = buf.readerIndex();
    for (int i = 0; i < text.length(); i++) {
      if (buf.getByte(at + i) != (byte) text.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private static boolean regionEquals(ByteBuf buf, int from, int to, String text) {
    if (to - from != text.length()) {
      return false;
    }
    for (int i = 0; i < text.length(); i++) {
      if (buf.getByte(from + i) != (byte) text.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /** Space-separated tokens of {@code buf[from, to)}: absolute starts and lengths, none empty. */
  private static final class Tokens {
    int count;
    int[] start = new int[8];
    int[] length = new int[8];

    static Tokens of(ByteBuf buf, int from, int to) {
      Tokens t = new Tokens();
      int i = from;
      while (i < to) {
        while (i < to && buf.getByte(i) == ' ') {
          i++;
        }
        if (i == to) {
          break;
        }
        int s = i;
        while (i < to && buf.getByte(i) != ' ') {
          i++;
        }
        if (t.count == t.start.length) {
          t.start = Arrays.copyOf(t.start, t.count * 2);
          t.length = Arrays.copyOf(t.length, t.count * 2);
        }
        t.start[t.count] = s;
        t.length[t.count] = i - s;
        t.count++;
      }
      return t;
    }

    boolean is(ByteBuf buf, int i, String text) {
      return i < count && regionEquals(buf, start[i], start[i] + length[i], text);
    }
  }

  /** Client lines to {@link Request}s. One per client channel; not sharable. */
  public static final class RequestDecoder extends ByteToMessageDecoder {
    private final Subscribing subscribing = new Subscribing();
    /** Bytes of the current line searched so far, from the reader index. */
    private int scanned;
    private boolean discarding;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      while (in.isReadable()) {
        if (discarding) {
          in.skipBytes(in.readableBytes());
          return;
        }
        int start = in.readerIndex();
        int limit = start + Math.min(in.readableBytes(), MAX_LINE + 1);
        int lf = in.indexOf(start + scanned, limit, (byte) '\n');
        if (lf < 0) {
          if (in.readableBytes() > MAX_LINE) {
            fail(ctx, in, out);
            return;
          }
          scanned = in.readableBytes();
          return;
        }
        scanned = 0;
        int length = lf + 1 - start;
        if (in.getByte(start) == '!') {
          fail(ctx, in, out);
          return;
        }
        Request r = request(ctx, in, start, lf, length);
        in.skipBytes(length);
        out.add(r);
      }
    }

    private void fail(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      discarding = true;
      scanned = 0;
      in.skipBytes(in.readableBytes());
      out.add(Request.protocolError(ascii(ctx.alloc(), PROTOCOL_ERROR)));
    }

    private Request request(ChannelHandlerContext ctx, ByteBuf in, int start, int lf,
        int length) {
      Tokens t = Tokens.of(in, start, lf);
      if (t.count >= 2 && (t.is(in, 0, "sub") || t.is(in, 0, "unsub"))) {
        return Request.pinned(in.retainedSlice(start, length), 0, -1,
            subscribing.change(t.is(in, 0, "sub")), subscribing, Conversation.Step.LISTEN);
      }
      if (in.getByte(start) == '@') {
        return request(ctx, in, start, lf, length, 1).onDialect(1);
      }
      return request(ctx, in, start, lf, length, 0);
    }

    /** The request of the line at {@code start}, its tokens from {@code start + skip}. */
    private static Request request(ChannelHandlerContext ctx, ByteBuf in, int start, int lf,
        int length, int skip) {
      Tokens t = Tokens.of(in, start + skip, lf);
      if (t.is(in, 0, "ping")) {
        return Request.local(ascii(ctx.alloc(), PONG));
      }
      if (t.is(in, 0, "quit")) {
        return Request.localThenClose(ascii(ctx.alloc(), BYE));
      }
      if (t.is(in, 0, "keyless")) {
        return Request.keyless(in.retainedSlice(start, length));
      }
      Conversation.Step step = t.is(in, 0, "multi") || t.is(in, 0, "t.ping")
          ? Conversation.Step.USE : t.is(in, 0, "exec") ? Conversation.Step.CLOSE
          : t.is(in, 0, "discard") ? Conversation.Step.DROP : null;
      if (step != null) {
        return Request.pinned(in.retainedSlice(start, length), 0, -1, null, TX, step);
      }
      if (t.is(in, 0, "t.refused")) {
        return Request.pinned(ascii(ctx.alloc(), "ERR refused\n"), 0, -1, null, TX,
            Conversation.Step.REFUSED);
      }
      if (t.count >= 2 && (t.is(in, 0, "watch") || t.is(in, 0, "t.get")
          || (t.is(in, 0, "bpop") && t.count == 3))) {
        step = t.is(in, 0, "watch") ? Conversation.Step.OPEN
            : t.is(in, 0, "t.get") ? Conversation.Step.USE : Conversation.Step.ALONE;
        Request r = Request.pinned(in.retainedSlice(start, length), t.start[1] - start,
            t.length[1], null, TX, step);
        if (step == Conversation.Step.ALONE) {
          String wait = in.toString(t.start[2], t.length[2], US_ASCII);
          r.blocking(wait.equals("forever") ? -1 : Long.parseLong(wait));
        }
        return r;
      }
      if (t.is(in, 0, "mget") && t.count >= 2) {
        return Request.split(in.retainedSlice(start, length), MGET);
      }
      if (t.count >= 2) {
        // the key's absolute index in the frame: the slice starts at index 0
        int keyIndex = t.start[1] - start;
        int keyLength = t.length[1];
        if (t.is(in, 0, "get") || (t.is(in, 0, "set") && t.count >= 3)) {
          return Request.routed(in.retainedSlice(start, length), keyIndex, keyLength);
        }
        if (t.is(in, 0, "noreply")) {
          return Request.routedNoReply(in.retainedSlice(start, length), keyIndex, keyLength);
        }
        if (t.is(in, 0, "quiet")) {
          return Request.routedQuiet(in.retainedSlice(start, length), keyIndex, keyLength,
              QUIET_FILTER);
        }
        if (t.is(in, 0, "script")) {
          return Request.routedOwningErrors(in.retainedSlice(start, length), keyIndex, keyLength);
        }
      }
      return Request.local(ascii(ctx.alloc(), UNKNOWN));
    }
  }

  /** One client's subscriptions: which keys, on which servers (see the class comment). */
  public static final class Subscribing implements Conversation.Listener {
    private final java.util.Map<String, Integer> keys = new java.util.HashMap<>();

    Splitter change(boolean subscribe) {
      return (frame, router, alloc) -> {
        int start = frame.readerIndex();
        int lf = frame.indexOf(start, frame.writerIndex(), (byte) '\n');
        Tokens t = Tokens.of(frame, start, lf);
        java.util.TreeMap<Integer, StringBuilder> byServer = new java.util.TreeMap<>();
        for (int k = 1; k < t.count; k++) {
          String key = frame.toString(t.start[k], t.length[k], US_ASCII);
          int server = router.serverFor(frame, t.start[k], t.length[k]);
          if (subscribe) {
            keys.put(key, server);
          } else {
            keys.remove(key);
          }
          byServer.computeIfAbsent(server, x -> new StringBuilder(subscribe ? "sub" : "unsub"))
              .append(' ').append(key);
        }
        int[] servers = byServer.keySet().stream().mapToInt(Integer::intValue).toArray();
        ByteBuf[] fragments = new ByteBuf[servers.length];
        int[] answers = new int[servers.length];
        int i = 0;
        for (StringBuilder b : byServer.values()) {
          answers[i] = b.toString().split(" ").length - 1;
          fragments[i++] = ascii(alloc, b.append('\n').toString());
        }
        String merged = subscribe ? "SUBSCRIBED\n" : "UNSUBSCRIBED\n";
        return new Changed(servers, fragments, answers, merged);
      };
    }

    @Override
    public boolean isAnswer(ByteBuf frame) {
      return frame.readableBytes() >= 3 && regionEquals(frame, frame.readerIndex(),
          frame.readerIndex() + 3, "ack");
    }

    @Override
    public boolean listensTo(int server) {
      return keys.containsValue(server);
    }

    @Override
    public ByteBuf localReply(ByteBuf frame, Conversation.Step step, boolean broken,
        ByteBufAllocator alloc) {
      throw new UnsupportedOperationException();
    }
  }

  private static final class Changed extends AbstractSplit implements Conversation.Answers {
    private final int[] answers;
    private final String merged;

    Changed(int[] servers, ByteBuf[] fragments, int[] answers, String merged) {
      super(servers, fragments);
      this.answers = answers;
      this.merged = merged;
    }

    @Override
    public int answers(int i) {
      return answers[i];
    }

    @Override
    public ByteBuf merge(ByteBuf[] replies, ByteBufAllocator alloc) {
      return ascii(alloc, merged);
    }
  }

  /** Backend lines to reply buffers and {@link ReplyPart}s. One per backend channel. */
  public static final class ReplyDecoder extends ByteToMessageDecoder implements PartialReplies {

    /** Whether a line starting {@code READONLY} is a not-primary trouble. */
    private final boolean readOnlyIsTrouble;

    ReplyDecoder(boolean readOnlyIsTrouble) {
      this.readOnlyIsTrouble = readOnlyIsTrouble;
    }

    @Override
    public int partialReplyBytes() {
      return actualReadableBytes() + dropped;
    }

    private int dropped;

    /** Bytes this decoder holds now: those dropped are gone. */
    int heldBytes() {
      return actualReadableBytes();
    }

    /** Drops the current line's bytes as they come; its last one or more is passed on. */
    @Override
    public void dropPartialReply() {
      dropping = state == State.LINE;
      if (dropping) {
        dropped += internalBuffer().readableBytes();
        internalBuffer().skipBytes(internalBuffer().readableBytes()); // no '\n' in it yet
        scanned = 0;
      }
    }

    private boolean dropping;

    private enum State { LINE, STREAM, FAILED }

    private State state = State.LINE;
    /** Bytes of the current line searched so far, from the reader index. */
    private int scanned;
    /** Body bytes of the current STREAM reply still to pass on. */
    private long remaining;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
      while (in.isReadable()) {
        switch (state) {
          case FAILED -> {
            in.skipBytes(in.readableBytes());
            return;
          }
          case STREAM -> {
            int n = (int) Math.min(in.readableBytes(), remaining);
            remaining -= n;
            boolean last = remaining == 0;
            out.add(new ReplyPart(in.readRetainedSlice(n), last));
            if (last) {
              state = State.LINE;
            }
          }
          case LINE -> {
            int start = in.readerIndex();
            int lf = in.indexOf(start + scanned, in.writerIndex(), (byte) '\n');
            if (lf < 0) {
              scanned = in.readableBytes();
              if (dropping) {
                dropped += scanned;
                in.skipBytes(scanned);
                scanned = 0;
              }
              return;
            }
            scanned = 0;
            dropping = false;
            dropped = 0;
            int length = lf + 1 - start;
            if (regionEquals(in, start, lf, "BROKEN")) {
              throw fail(in, "BROKEN reply");
            }
            if (lf - start >= 7 && regionEquals(in, start, start + 7, "STREAM ")) {
              long n = parseLength(in, start + 7, lf);
              if (n < 0) {
                throw fail(in, "bad STREAM line: "
                    + in.toString(start, lf - start, US_ASCII));
              }
              int body = (int) Math.min(in.readableBytes() - length, n);
              remaining = n - body;
              boolean last = remaining == 0;
              out.add(new ReplyPart(in.readRetainedSlice(length + body), last));
              if (!last) {
                state = State.STREAM;
              }
            } else if (lf - start >= 7 && regionEquals(in, start, start + 7, "TROUBLE")) {
              // TROUBLE is the server's state and counts; TROUBLEX (a busy server) does not
              boolean counts = in.getByte(start + 7) != 'X';
              out.add(new ServerTrouble(in.readRetainedSlice(length), counts));
            } else if (readOnlyIsTrouble && lf - start >= 8
                && regionEquals(in, start, start + 8, "READONLY")) {
              out.add(new ServerTrouble(in.readRetainedSlice(length), false, true));
            } else if (lf - start >= 4 && regionEquals(in, start, start + 4, "PUSH")) {
              out.add(new ServerPush(in.readRetainedSlice(length)));
            } else {
              out.add(in.readRetainedSlice(length));
            }
          }
        }
      }
    }

    private static long parseLength(ByteBuf in, int from, int to) {
      if (from == to || to - from > 9) {
        return -1;
      }
      long n = 0;
      for (int i = from; i < to; i++) {
        byte b = in.getByte(i);
        if (b < '0' || b > '9') {
          return -1;
        }
        n = n * 10 + (b - '0');
      }
      return n;
    }

    private DecoderException fail(ByteBuf in, String message) {
      in.skipBytes(in.readableBytes());
      state = State.FAILED;
      scanned = 0;
      return new DecoderException(message);
    }
  }

  /** Splits {@code mget K1 K2 ...} per server; see the class comment. */
  private static final class MgetSplitter implements Splitter {
    private static final byte[] NAME = "mget".getBytes(US_ASCII);

    @Override
    public Split split(ByteBuf frame, KeyRouter router, ByteBufAllocator alloc) {
      int start = frame.readerIndex();
      int lf = frame.indexOf(start, frame.writerIndex(), (byte) '\n');
      Tokens t = Tokens.of(frame, start, lf < 0 ? frame.writerIndex() : lf);
      int keys = t.count - 1;
      if (keys < 1) {
        throw new IllegalArgumentException("mget without keys");
      }
      int[] servers = new int[keys];
      int fragmentCount = 0;
      int[] fragmentOf = new int[keys];
      int[] position = new int[keys];
      int[] fragmentKeys = new int[keys];
      for (int k = 0; k < keys; k++) {
        int server = router.serverFor(frame, t.start[k + 1], t.length[k + 1]);
        int f = 0;
        while (f < fragmentCount && servers[f] != server) {
          f++;
        }
        if (f == fragmentCount) {
          servers[fragmentCount++] = server;
        }
        fragmentOf[k] = f;
        position[k] = fragmentKeys[f]++;
      }
      ByteBuf[] fragments = new ByteBuf[fragmentCount];
      for (int f = 0; f < fragmentCount; f++) {
        fragments[f] = alloc.buffer().writeBytes(NAME);
      }
      for (int k = 0; k < keys; k++) {
        fragments[fragmentOf[k]].writeByte(' ')
            .writeBytes(frame, t.start[k + 1], t.length[k + 1]);
      }
      for (ByteBuf f : fragments) {
        f.writeByte('\n');
      }
      return new MgetSplit(Arrays.copyOf(servers, fragmentCount), fragments, fragmentOf,
          position, Arrays.copyOf(fragmentKeys, fragmentCount));
    }

    @Override
    public String toString() {
      return "LineProtocol.MGET";
    }
  }

  private static final class MgetSplit extends AbstractSplit {
    private final int[] fragmentOf;
    private final int[] position;
    private final int[] fragmentKeys;

    MgetSplit(int[] servers, ByteBuf[] fragments, int[] fragmentOf, int[] position,
        int[] fragmentKeys) {
      super(servers, fragments);
      this.fragmentOf = fragmentOf;
      this.position = position;
      this.fragmentKeys = fragmentKeys;
    }

    @Override
    public ByteBuf merge(ByteBuf[] replies, ByteBufAllocator alloc) {
      return mergePartial(replies, new ByteBuf[replies.length], alloc);
    }

    /** A failed fragment's keys get its error reply as a token: '\n' dropped, spaces as '_'. */
    @Override
    public ByteBuf mergePartial(ByteBuf[] replies, ByteBuf[] errors, ByteBufAllocator alloc) {
      checkReplyCount(replies);
      Tokens[] values = new Tokens[replies.length];
      for (int f = 0; f < replies.length; f++) {
        if (errors[f] != null) {
          continue;
        }
        ByteBuf r = replies[f];
        int from = r.readerIndex();
        int to = r.writerIndex();
        if (to > from && r.getByte(to - 1) == '\n') {
          to--;
        }
        if (to - from >= 3 && regionEquals(r, from, from + 3, "ERR")) {
          return null;
        }
        values[f] = Tokens.of(r, from, to);
        if (values[f].count != fragmentKeys[f]) {
          return null;
        }
      }
      ByteBuf out = alloc.buffer();
      for (int k = 0; k < fragmentOf.length; k++) {
        if (k > 0) {
          out.writeByte(' ');
        }
        Tokens v = values[fragmentOf[k]];
        if (v == null) {
          String e = errors[fragmentOf[k]].toString(US_ASCII).strip().replace(' ', '_');
          out.writeCharSequence(e, US_ASCII);
          continue;
        }
        out.writeBytes(replies[fragmentOf[k]], v.start[position[k]], v.length[position[k]]);
      }
      return out.writeByte('\n');
    }

    @Override
    public String toString() {
      return "MgetSplit" + Arrays.toString(servers);
    }
  }
}
