package walnut.server;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import walnut.testing.FreePorts;
import walnut.testing.KeyPlacement;
import walnut.testing.KvDialect;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.JsonText;

/**
 * Issue #24's test set-up: three redis-servers named {@code A}, {@code B} and {@code C} behind a
 * Walnut run as {@code bin/walnut} runs it (config file, stats port), in-process so Netty's
 * paranoid leak detector watches its buffers. Pools share the servers: each pool {@code name ->
 * max_pinned_connections} (-1: the key left out), all with {@code hash_tag: "{}"} and
 * {@code timeout: 400}, so a block longer than the pool's timeout shows it is not cut short.
 * {@link #tag} gives hash tags whose keys live on a given server, found by storing candidates
 * through Walnut and asking each server which it holds (not by Walnut's own routing code).
 */
final class PinnedRig implements AutoCloseable {

  static final List<String> NAMES = List.of("A", "B", "C");
  static final int POOL_TIMEOUT_MS = 400;
  static final String CROSS_KEYS =
      "-ERR its keys are on different servers (a hash tag keeps keys together)\r\n";
  static final String EXECABORT =
      "-EXECABORT Transaction discarded because of previous errors.\r\n";

  final List<RedisServer> servers = new ArrayList<>();
  final OpsFixture walnut;
  final int threads;
  /** Per server, hash tags (without braces) whose keys it holds. */
  private final List<List<String>> tags = new ArrayList<>();

  private PinnedRig(Map<String, Integer> pools, int threads, Path dir) throws Exception {
    this.threads = threads;
    OpsFixture started = null;
    try {
      for (int i = 0; i < 3; i++) {
        servers.add(RedisServer.start());
      }
      StringBuilder yaml = new StringBuilder();
      for (Map.Entry<String, Integer> pool : pools.entrySet()) {
        yaml.append(pool.getKey()).append(":\n")
            .append("  listen: 127.0.0.1:").append(FreePorts.next()).append('\n')
            .append("  redis: true\n")
            .append("  hash_tag: \"{}\"\n")
            .append("  timeout: ").append(POOL_TIMEOUT_MS).append('\n');
        if (pool.getValue() >= 0) {
          yaml.append("  max_pinned_connections: ").append(pool.getValue()).append('\n');
        }
        yaml.append("  servers:\n");
        for (int i = 0; i < 3; i++) {
          yaml.append("   - 127.0.0.1:").append(servers.get(i).port()).append(":1 ")
              .append(NAMES.get(i)).append('\n');
        }
      }
      Path conf = dir.resolve("pinned.yml");
      Files.writeString(conf, yaml.toString());
      started = OpsFixture.start(conf, threads, false, false);
      List<String> candidates = new ArrayList<>();
      for (int i = 0; i < 90; i++) {
        candidates.add("{" + i + "t}"); // the varying part first: fnv1a_64 bunches prefixes
      }
      String first = pools.keySet().iterator().next();
      Map<String, Integer> placement = KeyPlacement.of(KvDialect.REDIS,
          new InetSocketAddress("127.0.0.1", started.port(first)), servers, candidates);
      for (int s = 0; s < 3; s++) {
        List<String> on = new ArrayList<>();
        for (String key : KeyPlacement.on(placement, candidates, s)) {
          on.add(key.substring(1, key.length() - 1));
        }
        if (on.isEmpty()) {
          throw new IllegalStateException("no candidate tag on server " + NAMES.get(s));
        }
        tags.add(on);
      }
      for (RedisServer server : servers) {
        server.command("FLUSHALL");
      }
      this.walnut = started;
    } catch (Exception | Error e) {
      if (started != null) {
        started.close();
      }
      servers.forEach(RedisServer::close);
      throw e;
    }
  }

  /** One pool {@code alpha} with the default bound. */
  static PinnedRig start(Path dir) throws Exception {
    return start(Map.of("alpha", -1), 2, dir);
  }

  static PinnedRig start(Map<String, Integer> pools, int threads, Path dir) throws Exception {
    return new PinnedRig(new LinkedHashMap<>(pools), threads, dir);
  }

  int port() {
    return walnut.port("alpha");
  }

  int port(String pool) {
    return walnut.port(pool);
  }

  /** The {@code n}-th hash tag (0, 1, 2) of server {@code s}: its keys all live there. */
  String tag(int s, int n) {
    return tags.get(s).get(n % tags.get(s).size());
  }

  /** A key on server {@code s}: {@code {tag}name}. */
  String key(int s, String name) {
    return "{" + tag(s, 0) + "}" + name;
  }

  /** Server {@code s}'s reply to a command sent to it directly. */
  Object direct(int s, String... args) {
    return servers.get(s).command(args);
  }

  /** Whether {@code key} exists on any server, asked directly. */
  boolean anywhere(String key) {
    for (RedisServer server : servers) {
      if (((Long) server.command("EXISTS", key)) != 0) {
        return true;
      }
    }
    return false;
  }

  /** Stats field {@code field} of server {@code server} in {@code pool}; 0 when not printed. */
  long stat(String pool, String server, String field) throws IOException {
    Map<String, Object> doc = JsonText.parse(walnut.stats());
    @SuppressWarnings("unchecked")
    Map<String, Object> p = (Map<String, Object>) doc.get(pool);
    @SuppressWarnings("unchecked")
    Map<String, Object> s = (Map<String, Object>) p.get(server);
    Object value = s.get(field);
    return value == null ? 0 : ((Number) value).longValue();
  }

  /** pinned_connections of every server of {@code pool}, in server order. */
  List<Long> pinned(String pool) throws IOException {
    List<Long> in = new ArrayList<>();
    for (String name : NAMES) {
      in.add(stat(pool, name, "pinned_connections"));
    }
    return in;
  }

  /** Waits until no server of {@code pool} has a private connection in use. */
  void awaitNonePinned(String pool, Duration deadline) {
    List<List<Long>> last = new ArrayList<>(List.of(List.of()));
    Poll.until(deadline, () -> {
      try {
        last.set(0, pinned(pool));
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      return last.get(0).equals(List.of(0L, 0L, 0L));
    }, () -> "pinned_connections of A, B, C back to 0; still " + last.get(0));
  }

  /** connected_clients of server {@code s}, the asking connection included. */
  long connectedClients(int s) {
    String info = (String) servers.get(s).command("INFO", "clients");
    for (String line : info.split("\r\n")) {
      if (line.startsWith("connected_clients:")) {
        return Long.parseLong(line.substring("connected_clients:".length()).trim());
      }
    }
    throw new IllegalStateException("no connected_clients in " + info);
  }

  @Override
  public void close() {
    try {
      walnut.close();
    } finally {
      servers.forEach(RedisServer::close);
    }
  }

  /** The nil an aborted EXEC or a timed-out block answers: {@code *-1} in RESP2, {@code _} in 3. */
  static String nilArray(int protocol) {
    return protocol == 3 ? "_\r\n" : "*-1\r\n";
  }
}
