package walnut.benchmarks;

import io.netty.buffer.ByteBuf;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import walnut.core.proxy.ProxyServer;

/**
 * Builds the RESP inputs of the benchmarks: requests as clients send them, replies as
 * redis-server sends them. Keys look like redis-benchmark's ({@code key:} and twelve digits) and
 * values are printable ASCII, all drawn from a seeded random source so every run sees the same
 * bytes.
 */
final class RespText {

  /** Bytes of every value: a small cached value, larger than redis-benchmark's 3. */
  static final int VALUE_SIZE = 32;

  private final SplittableRandom random;

  RespText(long seed) {
    random = new SplittableRandom(seed);
  }

  /** A key as redis-benchmark's {@code key:__rand_int__} expands, from a space of 10^6 keys. */
  String key() {
    return String.format("key:%012d", random.nextInt(1_000_000));
  }

  String value() {
    char[] v = new char[VALUE_SIZE];
    for (int i = 0; i < v.length; i++) {
      v[i] = (char) random.nextInt('!', '~' + 1);
    }
    return new String(v);
  }

  /** A RESP array of bulk strings, as clients send commands. */
  static byte[] command(String... argv) {
    StringBuilder b = new StringBuilder().append('*').append(argv.length).append("\r\n");
    for (String a : argv) {
      b.append('$').append(a.length()).append("\r\n").append(a).append("\r\n");
    }
    return b.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  static byte[] bulk(String value) {
    return ("$" + value.length() + "\r\n" + value + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
  }

  /** An MGET's reply: an array of {@code n} bulk values. */
  byte[] bulkArray(int n) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(("*" + n + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
    for (int i = 0; i < n; i++) {
      out.writeBytes(bulk(value()));
    }
    return out.toByteArray();
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /**
   * {@code bytes} in a direct buffer of the proxy's allocator ({@code ProxyServer.ALLOCATOR},
   * Netty's pooled allocator, whatever {@code io.netty.allocator.type} says), the kind a socket
   * read fills in the proxy.
   */
  static ByteBuf direct(byte[] bytes) {
    return ProxyServer.ALLOCATOR.directBuffer(bytes.length, bytes.length).writeBytes(bytes);
  }
}
