package walnut.server;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import walnut.testing.KvDialect;
import walnut.testing.WireTap;

/**
 * What {@code health_check_interval}'s probes look like on a server's wire, to tell them from
 * client requests: a Redis probe is the pool's handshake ({@code AUTH}, {@code SELECT}) and then
 * {@code PING}; a memcached probe is {@code version}. A probe connection may carry nothing else;
 * a connection that carries anything else carries client requests from its first other byte on.
 */
final class ProbeTraffic {

  static final String PING = "*1\r\n$4\r\nPING\r\n";
  static final String VERSION = "version\r\n";
  private static final Set<String> PROBE_COMMANDS = Set.of("AUTH", "SELECT", "PING");

  private ProbeTraffic() {}

  /**
   * How many leading bytes of {@code sent} are probe traffic: whole probe commands, and at the end
   * the start of one still being written.
   */
  static int probePrefix(KvDialect dialect, byte[] sent) {
    if (!dialect.isRedis()) {
      byte[] v = VERSION.getBytes(StandardCharsets.US_ASCII);
      int i = 0;
      while (i < sent.length) {
        int n = Math.min(v.length, sent.length - i);
        if (!Arrays.equals(sent, i, i + n, v, 0, n)) {
          return i;
        }
        i += n;
      }
      return i;
    }
    int i = 0;
    while (i < sent.length) {
      int end = commandEnd(sent, i);
      if (end < 0) {
        byte[] ping = PING.getBytes(StandardCharsets.US_ASCII);
        int n = sent.length - i;
        boolean startOfPing = n < ping.length && Arrays.equals(sent, i, sent.length, ping, 0, n);
        return startOfPing ? sent.length : i;
      }
      if (!PROBE_COMMANDS.contains(name(sent, i))) {
        return i;
      }
      i = end;
    }
    return i;
  }

  /** Whether a chunk a server sent holds a probe's success: {@code +PONG}, {@code VERSION}. */
  static boolean isProbeSuccess(KvDialect dialect, byte[] received) {
    String text = new String(received, StandardCharsets.ISO_8859_1);
    return dialect.isRedis() ? text.contains("+PONG\r\n") : text.contains("VERSION ");
  }

  /** When each read on {@code c} that held client bytes (anything but probe traffic) arrived. */
  static List<Long> clientBytesAt(KvDialect dialect, WireTap.Connection c) {
    List<WireTap.Chunk> chunks = c.sent();
    int probe = probePrefix(dialect, c.sentBytes());
    List<Long> at = new ArrayList<>();
    int offset = 0;
    for (WireTap.Chunk chunk : chunks) {
      offset += chunk.bytes().length;
      if (offset > probe) {
        at.add(chunk.atMillis());
      }
    }
    return at;
  }

  /** What {@code c} carried, printable, for a failure message. */
  static String describe(WireTap.Connection c) {
    String text = new String(c.sentBytes(), StandardCharsets.ISO_8859_1);
    text = text.length() > 200 ? text.substring(0, 200) + "…" : text;
    return "connection accepted at " + c.acceptedAt() + ": '" + text.replace("\r\n", "\\r\\n")
        + "'";
  }

  /** The end of the RESP array of bulk strings at {@code i}; -1 if it is incomplete or not one. */
  private static int commandEnd(byte[] b, int i) {
    int[] at = {i};
    if (at[0] >= b.length || b[at[0]++] != '*') {
      return -1;
    }
    long n = number(b, at);
    for (long k = 0; k < n && n > 0; k++) {
      if (at[0] >= b.length || b[at[0]++] != '$') {
        return -1;
      }
      long len = number(b, at);
      if (len < 0 || at[0] + len + 2 > b.length) {
        return -1;
      }
      at[0] += (int) len + 2;
    }
    return n > 0 ? at[0] : -1;
  }

  /** The command name (upper case) of the complete command at {@code i}. */
  private static String name(byte[] b, int i) {
    int[] at = {i + 1};
    number(b, at);
    at[0]++; // '$'
    int len = (int) number(b, at);
    return new String(b, at[0], len, StandardCharsets.ISO_8859_1).toUpperCase(Locale.ROOT);
  }

  /** Reads digits up to CRLF at {@code at[0]}, leaving it after the CRLF; -1 if malformed. */
  private static long number(byte[] b, int[] at) {
    long n = 0;
    int start = at[0];
    while (at[0] < b.length && b[at[0]] >= '0' && b[at[0]] <= '9' && at[0] - start < 10) {
      n = n * 10 + (b[at[0]++] - '0');
    }
    if (at[0] == start || at[0] + 1 >= b.length || b[at[0]] != '\r' || b[at[0] + 1] != '\n') {
      return -1;
    }
    at[0] += 2;
    return n;
  }
}
