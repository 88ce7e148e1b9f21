package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import walnut.core.spi.AbstractSplit;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Splitter;

/**
 * {@code INFO [section …]}, answered by Walnut (docs/compatibility.md#info): a {@code # Server}
 * section with the lowest {@code redis_version} of the pool's servers (asked with
 * {@code INFO server} of every server in the ring, compared numerically) and
 * {@code redis_mode:proxy}, a {@code # Clients} section and a {@code # Walnut} section (version,
 * pool, servers up and ejected). Sections are chosen as Redis 7 does: names in any case, several
 * allowed, {@code default}/{@code all}/{@code everything} (or none) for every section, unknown
 * names ignored (nothing asked: an empty string).
 *
 * <p>INFO never fails because a server is down: a server out of the ring is not asked, one that
 * fails is left out ({@link #mergesFailures}), and with no answer at all the reply has no
 * {@code redis_version} line. Without the Server section nothing is sent.
 *
 * <p>The reply is a bulk string for a RESP2 client and a verbatim string ({@code =…txt:}) for a
 * RESP3 client, as Redis answers; hence one instance per client protocol.
 */
final class InfoSplitter implements Splitter {

  static final InfoSplitter RESP2 = new InfoSplitter(false);
  static final InfoSplitter RESP3 = new InfoSplitter(true);

  /** The project version, from a resource Maven fills in. */
  static final String WALNUT_VERSION = readVersion();

  private static final int SERVER = 1;
  private static final int CLIENTS = 2;
  private static final int WALNUT = 4;
  private static final byte[] INFO_SERVER =
      "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final String VERSION_FIELD = "redis_version:";

  private final boolean resp3;

  private InfoSplitter(boolean resp3) {
    this.resp3 = resp3;
  }

  private static String readVersion() {
    Properties p = new Properties();
    try (InputStream in = InfoSplitter.class.getResourceAsStream("version.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      // unknown, below
    }
    return p.getProperty("version", "unknown");
  }

  @Override
  public Split split(ByteBuf frame, KeyRouter router, ByteBufAllocator alloc) {
    int sections = sections(frame);
    int n = router.servers();
    int live = 0;
    for (int i = 0; i < n; i++) {
      live += router.live(i) ? 1 : 0;
    }
    StringBuilder after = new StringBuilder(256);
    if ((sections & CLIENTS) != 0) {
      after.append("# Clients\r\nconnected_clients:").append(router.connectedClients())
          .append("\r\n");
    }
    if ((sections & WALNUT) != 0) {
      if (!after.isEmpty()) {
        after.append("\r\n");
      }
      after.append("# Walnut\r\nwalnut_version:").append(WALNUT_VERSION)
          .append("\r\npool:").append(router.poolName())
          .append("\r\nservers:").append(n)
          .append("\r\nservers_up:").append(live)
          .append("\r\nservers_ejected:").append(n - live).append("\r\n");
      for (int i = 0; i < n; i++) {
        after.append("server").append(i).append(":name=").append(router.serverName(i))
            .append(",state=").append(router.live(i) ? "up" : "ejected").append("\r\n");
      }
    }
    if ((sections & SERVER) == 0) {
      return new Refused(reply(after.toString()));
    }
    long uptime = Math.max(0, System.currentTimeMillis() - router.startedMillis()) / 1000;
    String server = "# Server\r\n";
    String rest = "redis_mode:proxy\r\nprocess_id:" + ProcessHandle.current().pid()
        + "\r\nuptime_in_seconds:" + uptime + "\r\nuptime_in_days:"
        + TimeUnit.SECONDS.toDays(uptime) + "\r\n" + (after.isEmpty() ? "" : "\r\n") + after;
    if (live == 0) {
      return new Refused(reply(server + rest));
    }
    int[] servers = new int[live];
    ByteBuf[] fragments = new ByteBuf[live];
    for (int i = 0, f = 0; i < n; i++) {
      if (router.live(i)) {
        servers[f] = i;
        fragments[f++] = alloc.buffer(INFO_SERVER.length).writeBytes(INFO_SERVER);
      }
    }
    return new Info(servers, fragments, server, rest);
  }

  /** The sections {@code INFO} names, as bits; every section when it names none. */
  private static int sections(ByteBuf frame) {
    FrameCursor args = new FrameCursor(frame, frame.readerIndex());
    args.next(); // INFO
    if (args.count() == 1) {
      return SERVER | CLIENTS | WALNUT;
    }
    int sections = 0;
    while (args.next()) {
      String name = Replies.quote(frame, args.start(), args.length()).toLowerCase(Locale.ROOT);
      sections |= switch (name) {
        case "server" -> SERVER;
        case "clients" -> CLIENTS;
        case "walnut" -> WALNUT;
        case "default", "all", "everything" -> SERVER | CLIENTS | WALNUT;
        default -> 0;
      };
    }
    return sections;
  }

  /** {@code body} as Redis answers INFO in the client's protocol. */
  private byte[] reply(String body) {
    byte[] text = body.getBytes(StandardCharsets.UTF_8);
    String header = resp3 ? "=" + (text.length + 4) + "\r\ntxt:" : "$" + text.length + "\r\n";
    byte[] out = new byte[header.length() + text.length + 2];
    System.arraycopy(header.getBytes(StandardCharsets.US_ASCII), 0, out, 0, header.length());
    System.arraycopy(text, 0, out, header.length(), text.length);
    out[out.length - 2] = '\r';
    out[out.length - 1] = '\n';
    return out;
  }

  /**
   * The lowest of two Redis versions ({@code 7.0.15}), compared number by number; {@code null}
   * counts as higher than any.
   */
  static String lowest(String a, String b) {
    if (a == null || b == null) {
      return a == null ? b : a;
    }
    String[] x = a.split("\\.");
    String[] y = b.split("\\.");
    for (int i = 0; i < Math.max(x.length, y.length); i++) {
      long u = i < x.length ? number(x[i]) : 0;
      long v = i < y.length ? number(y[i]) : 0;
      if (u != v) {
        return u < v ? a : b;
      }
    }
    return a;
  }

  /** The leading digits of {@code s} as a number (0 when none). */
  private static long number(String s) {
    long v = 0;
    for (int i = 0; i < s.length() && i < 18 && Character.isDigit(s.charAt(i)); i++) {
      v = v * 10 + (s.charAt(i) - '0');
    }
    return v;
  }

  /** The {@code redis_version} in one server's {@code INFO server} reply, or {@code null}. */
  static String version(ByteBuf reply) {
    if (reply == null) {
      return null;
    }
    ReplyReader reader = new ReplyReader(reply);
    int at = reader.string();
    if (at < 0) {
      return null;
    }
    String body = reply.toString(at, reader.length, StandardCharsets.ISO_8859_1);
    int field = ("\n" + body).indexOf("\n" + VERSION_FIELD); // where the field starts in body
    if (field < 0) {
      return null;
    }
    int from = field + VERSION_FIELD.length();
    int end = from;
    while (end < body.length() && body.charAt(end) != '\r' && body.charAt(end) != '\n') {
      end++;
    }
    return end > from ? body.substring(from, end) : null;
  }

  @Override
  public String toString() {
    return resp3 ? "InfoSplitter{RESP3}" : "InfoSplitter{RESP2}";
  }

  /** {@code INFO server} to every live server, merged into Walnut's INFO. */
  private final class Info extends AbstractSplit {

    private final String head;
    private final String rest;

    Info(int[] servers, ByteBuf[] fragments, String head, String rest) {
      super(servers, fragments);
      this.head = head;
      this.rest = rest;
    }

    @Override
    public boolean mergesFailures() {
      return true;
    }

    @Override
    public ByteBuf merge(ByteBuf[] replies, ByteBufAllocator alloc) {
      return mergePartial(replies, null, alloc);
    }

    /** Servers that failed, or answered no version, are left out. */
    @Override
    public ByteBuf mergePartial(ByteBuf[] replies, ByteBuf[] errors, ByteBufAllocator alloc) {
      checkReplyCount(replies);
      String lowest = null;
      for (ByteBuf r : replies) {
        lowest = lowest(lowest, version(r));
      }
      byte[] out = reply(head + (lowest == null ? "" : VERSION_FIELD + lowest + "\r\n") + rest);
      return alloc.buffer(out.length).writeBytes(out);
    }
  }
}
