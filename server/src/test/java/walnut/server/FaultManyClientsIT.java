package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.management.UnixOperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.stats.PoolStat;
import walnut.testing.KvDialect;
import walnut.testing.Poll;

/**
 * 5,000 client connections open at once through one Walnut, each sending PING, SET and GET of its
 * own key in one pipelined write, all answered correctly; driven by NIO from one thread.
 *
 * <p>Descriptors: the test JVM holds both ends of every connection (10,000) plus the proxy's
 * backend connections. The JVM raises its soft {@code RLIMIT_NOFILE} to the hard limit at start
 * (HotSpot's {@code -XX:+MaxFDLimit}, on by default), so what counts is the hard limit: where it is
 * below about 11,000 the test is skipped, saying so. CI raises it with {@code ulimit -Hn 65536}
 * (or {@code ulimit -n 65536}) in the shell that runs Maven, or {@code --ulimit
 * nofile=65536:65536} for a Docker container.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FaultManyClientsIT {

  private static final Logger log = LoggerFactory.getLogger(FaultManyClientsIT.class);

  private static final int CLIENTS = 5_000;
  /** Connects in flight at once: well under the listen backlog, so none waits for a SYN retry. */
  private static final int CONNECTING = 200;
  /** Both ends of every client connection, and room for everything else. */
  private static final long DESCRIPTORS_NEEDED = 2L * CLIENTS + 1_000;
  private static final Duration DEADLINE = Duration.ofSeconds(90);

  @Test
  void fiveThousandClientsAreServedAtOnce() throws Exception {
    var os = ManagementFactory.getOperatingSystemMXBean();
    assumeTrue(os instanceof UnixOperatingSystemMXBean, "cannot count descriptors here");
    var unix = (UnixOperatingSystemMXBean) os;
    long free = unix.getMaxFileDescriptorCount() - unix.getOpenFileDescriptorCount();
    assumeTrue(free >= DESCRIPTORS_NEEDED, "this JVM may open " + free + " more descriptors ("
        + unix.getMaxFileDescriptorCount() + " allowed) but " + CLIENTS + " connections need "
        + DESCRIPTORS_NEEDED + ": raise the hard limit, e.g. `ulimit -Hn 65536` before Maven,"
        + " or `--ulimit nofile=65536:65536` for Docker");

    try (FaultRig rig = FaultRig.start(KvDialect.REDIS_MIXED)) {
      rig.startProxy(rig.pool(b -> b.timeout(5_000).backlog(1_024)).build(), 16, 30);
      long started = System.nanoTime();
      List<Conn> conns = new ArrayList<>(CLIENTS);
      try (Selector selector = Selector.open()) {
        try {
          connectAll(selector, rig.address(), conns);
          long connectedMs = Duration.ofNanos(System.nanoTime() - started).toMillis();
          Poll.until(Duration.ofSeconds(30), () -> clients(rig) == CLIENTS,
              "Walnut counts " + CLIENTS + " client connections (has " + clients(rig) + ")");
          long served = System.nanoTime();
          exchangeAll(selector, conns);
          long servedMs = Duration.ofNanos(System.nanoTime() - served).toMillis();
          assertEquals(CLIENTS, clients(rig), "every client still connected");
          long correct = conns.stream().filter(Conn::answeredCorrectly).count();
          log.info("{} clients connected at once in {} ms; PING+SET+GET answered on all in {} ms;"
              + " {} correct", CLIENTS, connectedMs, servedMs, correct);
          assertEquals(CLIENTS, correct, "clients answered exactly: " + firstWrong(conns));
        } finally {
          for (Conn c : conns) {
            c.channel.close();
          }
        }
      }
      Poll.until(Duration.ofSeconds(60), () -> clients(rig) == 0,
          "Walnut sees every client gone (has " + clients(rig) + ")");
      rig.assertSettled();
    }
  }

  /** Opens every connection, at most {@link #CONNECTING} at a time, and waits for them. */
  private static void connectAll(Selector selector, InetSocketAddress proxy, List<Conn> conns)
      throws IOException {
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    int pending = 0;
    while (conns.size() < CLIENTS || pending > 0) {
      while (conns.size() < CLIENTS && pending < CONNECTING) {
        SocketChannel ch = SocketChannel.open();
        ch.configureBlocking(false);
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        Conn conn = new Conn(conns.size(), ch);
        conns.add(conn);
        if (ch.connect(proxy)) {
          continue;
        }
        ch.register(selector, SelectionKey.OP_CONNECT, conn);
        pending++;
      }
      assertTrue(System.nanoTime() < deadline, "connected " + (conns.size() - pending) + " of "
          + CLIENTS + " within " + DEADLINE);
      selector.select(100);
      for (SelectionKey key : selector.selectedKeys()) {
        if (key.isConnectable()) {
          ((SocketChannel) key.channel()).finishConnect();
          key.interestOps(0);
          pending--;
        }
      }
      selector.selectedKeys().clear();
    }
  }

  /** Writes each connection's three requests, then reads until every reply is complete. */
  private static void exchangeAll(Selector selector, List<Conn> conns) throws IOException {
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    int open = 0;
    for (Conn c : conns) {
      c.write();
      c.channel.register(selector, c.out.hasRemaining()
          ? SelectionKey.OP_READ | SelectionKey.OP_WRITE : SelectionKey.OP_READ, c);
      open++;
    }
    while (open > 0) {
      assertTrue(System.nanoTime() < deadline,
          open + " of " + CLIENTS + " clients still without a complete reply after " + DEADLINE);
      selector.select(100);
      for (SelectionKey key : selector.selectedKeys()) {
        Conn c = (Conn) key.attachment();
        if (key.isValid() && key.isWritable()) {
          c.write();
          if (!c.out.hasRemaining()) {
            key.interestOps(SelectionKey.OP_READ);
          }
        }
        if (key.isValid() && key.isReadable() && c.read()) {
          key.interestOps(0);
          open--;
        }
      }
      selector.selectedKeys().clear();
    }
  }

  private static String firstWrong(List<Conn> conns) {
    return conns.stream().filter(c -> !c.answeredCorrectly()).findFirst()
        .map(c -> "client " + c.id + " got '" + c.received() + "'").orElse("none");
  }

  private static long clients(FaultRig rig) {
    return rig.walnut.proxy.stats().pools().get(0).counters().get(PoolStat.CLIENT_CONNECTIONS);
  }

  /** One client: its requests, the replies it expects, and what it has read. */
  private static final class Conn {
    final int id;
    final SocketChannel channel;
    final ByteBuffer out;
    final byte[] expected;
    final ByteBuffer in;
    boolean closed;

    Conn(int id, SocketChannel channel) {
      this.id = id;
      this.channel = channel;
      String key = "many:" + id;
      String value = "client " + id;
      byte[] ping = "*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII);
      byte[] set = KvDialect.REDIS.set(key, value);
      byte[] get = KvDialect.REDIS.get(key);
      this.out = ByteBuffer.allocate(ping.length + set.length + get.length);
      out.put(ping).put(set).put(get).flip();
      this.expected = ("+PONG\r\n+OK\r\n$" + value.length() + "\r\n" + value + "\r\n")
          .getBytes(StandardCharsets.US_ASCII);
      this.in = ByteBuffer.allocate(expected.length + 64);
    }

    void write() throws IOException {
      channel.write(out);
    }

    /** Reads what is there; true once the reply is complete or the connection closed. */
    boolean read() throws IOException {
      int n = channel.read(in);
      if (n < 0) {
        closed = true;
        return true;
      }
      return in.position() >= expected.length;
    }

    boolean answeredCorrectly() {
      return !closed && in.position() == expected.length
          && Arrays.equals(Arrays.copyOf(in.array(), in.position()), expected);
    }

    String received() {
      return new String(in.array(), 0, in.position(), StandardCharsets.US_ASCII)
          + (closed ? " (closed)" : "");
    }
  }
}
