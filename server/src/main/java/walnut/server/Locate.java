package walnut.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.config.ServerConfig;
import walnut.core.plugin.PluginRegistry;
import walnut.core.routing.PoolRouter;
import walnut.core.spi.KeyRouter;

/**
 * {@code walnut -c FILE --locate POOL KEY...}: where twemproxy's placement puts each key, from the
 * configuration alone (every server in the ring, as at start), with the router the proxy itself
 * routes with, so the answer cannot drift from the proxy's. One line per key:
 * {@code KEY <tab> SERVER-NAME <tab> ADDRESS}, the key's bytes as given. With {@code -} as the
 * only key, keys are read one a line from standard input (a trailing CR is dropped), so a file of
 * millions of keys streams through. A pool with {@code distribution: random} sends each request
 * to a server picked at random: its keys are printed with {@code *} for server and address.
 */
final class Locate {

  private final PoolConfig pool;
  private final PoolRouter router;

  private Locate(PoolConfig pool, PoolRouter router) {
    this.pool = pool;
    this.router = router;
  }

  /** The placement of {@code poolName}; throws {@link IllegalArgumentException} naming the pools. */
  static Locate of(ProxyConfig config, PluginRegistry plugins, String poolName) {
    for (PoolConfig pc : config.pools()) {
      if (pc.name().equals(poolName)) {
        return new Locate(pc, new PoolRouter(pc, plugins.hashFunction(pc.hash()),
            plugins.distribution(pc.distribution())));
      }
    }
    throw new IllegalArgumentException("no pool named '" + poolName + "' (pools: "
        + String.join(", ", config.pools().stream().map(PoolConfig::name).toList()) + ")");
  }

  /** The index of the server {@code key} goes to. */
  int serverFor(byte[] key) {
    ByteBuf buf = Unpooled.wrappedBuffer(key);
    return router.serverFor(buf, 0, key.length);
  }

  ServerConfig server(int index) {
    return pool.servers().get(index);
  }

  /** Writes one line per key of {@code keys} (or of {@code in}, for {@code -}) to {@code out}. */
  void print(List<String> keys, InputStream in, OutputStream out) throws IOException {
    if (keys.size() == 1 && keys.get(0).equals("-")) {
      ByteArrayOutputStream line = new ByteArrayOutputStream();
      InputStream buffered = new java.io.BufferedInputStream(in, 1 << 16);
      int b;
      while ((b = buffered.read()) >= 0) {
        if (b == '\n') {
          printLine(stripCr(line.toByteArray()), out);
          line.reset();
        } else {
          line.write(b);
        }
      }
      if (line.size() > 0) {
        printLine(stripCr(line.toByteArray()), out);
      }
    } else {
      for (String key : keys) {
        printLine(key.getBytes(StandardCharsets.UTF_8), out);
      }
    }
    out.flush();
  }

  private static byte[] stripCr(byte[] line) {
    return line.length > 0 && line[line.length - 1] == '\r'
        ? java.util.Arrays.copyOf(line, line.length - 1) : line;
  }

  /** Whether the pool's distribution is {@code random}: a key has no server of its own. */
  boolean random() {
    return pool.distribution().equals("random") && pool.servers().size() > 1;
  }

  private void printLine(byte[] key, OutputStream out) throws IOException {
    out.write(key);
    if (random()) {
      out.write("\t*\t*\n".getBytes(StandardCharsets.US_ASCII)); // any server, request by request
      return;
    }
    int index = serverFor(key);
    if (index == KeyRouter.NO_SERVER) {
      out.write("\t-\t-\n".getBytes(StandardCharsets.US_ASCII));
      return;
    }
    ServerConfig server = server(index);
    out.write(('\t' + server.name() + '\t' + server.endpoint() + '\n')
        .getBytes(StandardCharsets.UTF_8));
  }
}
