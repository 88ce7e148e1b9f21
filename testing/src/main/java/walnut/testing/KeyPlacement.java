package walnut.testing;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which backend a proxy puts each key on, learnt the black-box way: store every key through the
 * proxy, then ask each backend directly which of them it holds. Fault tests use it to tell the
 * keys of the server they break from the others without trusting the proxy's own routing code.
 */
public final class KeyPlacement {
  /** The value {@link #of} stores under every key. */
  public static final String VALUE = "placement";

  private static final int CHUNK = 100;

  private KeyPlacement() {}

  /**
   * Stores each of {@code keys} through the proxy at {@code proxy} and returns, for each key, the
   * index in {@code backends} of the one backend that holds it. Fails if a SET is not stored or a
   * key is held by no backend or by several. The keys should be fresh: their values are replaced.
   */
  public static Map<String, Integer> of(KvDialect dialect, InetSocketAddress proxy,
      List<? extends ServerFixture> backends, Collection<String> keys) {
    store(dialect, proxy, new ArrayList<>(keys));
    Map<String, Integer> placement = new HashMap<>();
    for (int b = 0; b < backends.size(); b++) {
      Set<String> held = dialect.held(backends.get(b), keys);
      for (String key : held) {
        Integer other = placement.put(key, b);
        if (other != null) {
          throw new IllegalStateException(key + " is on backends " + other + " and " + b);
        }
      }
    }
    for (String key : keys) {
      if (!placement.containsKey(key)) {
        throw new IllegalStateException(key + " was stored through the proxy but no backend has it");
      }
    }
    return placement;
  }

  /** The keys {@code placement} puts on backend {@code server}, in {@code keys}' order. */
  public static List<String> on(Map<String, Integer> placement, Collection<String> keys,
      int server) {
    return keys.stream().filter(k -> placement.get(k) == server).toList();
  }

  private static void store(KvDialect dialect, InetSocketAddress proxy, List<String> keys) {
    try (Socket socket = new Socket()) {
      socket.connect(proxy, 5_000);
      socket.setSoTimeout(30_000);
      OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
      InputStream in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
      for (int from = 0; from < keys.size(); from += CHUNK) {
        List<String> chunk = keys.subList(from, Math.min(keys.size(), from + CHUNK));
        for (String key : chunk) {
          out.write(dialect.set(key, VALUE));
        }
        out.flush();
        for (String key : chunk) {
          KvDialect.Reply reply = dialect.read(in, key);
          if (reply.kind() != KvDialect.Kind.STORED) {
            throw new IllegalStateException("storing " + key + " through the proxy: " + reply);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("storing keys through the proxy at " + proxy, e);
    }
  }
}
