package walnut.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A real twemproxy ({@code nutcracker}), or any proxy that takes a nutcracker-style command line
 * and {@code nutcracker.yml}, on free loopback ports in front of the given pools of servers.
 *
 * <p>Contract: {@link #start(List)} writes one configuration file with a {@code listen:} port per
 * pool (free ports, {@link FreePorts}), starts twemproxy ({@link #TWEMPROXY}) and returns once
 * every pool's port accepts connections. {@link #start(List, List)} runs another command instead,
 * in which {@code {conf}} becomes the file's path, {@code {port}} the first pool's listen port
 * ({@link #port()}) and {@code {stats}} a free port for the stats endpoint; a command whose first
 * word holds a slash runs from that path, any other is looked up on the PATH. If the proxy exits or
 * stays silent for 10 s, {@code start} fails with its output; a port lost to another process is
 * retried on fresh ports. {@link #close()} stops the process by its pid (SIGTERM, then SIGKILL
 * after a deadline) and deletes the configuration and the log; a forgotten proxy is killed when the
 * JVM exits. A {@link #restart()} keeps every port. Lifecycle methods may be called from any
 * thread.
 *
 * <p>The file holds twemproxy 0.5.0's keys only (it refuses any other): per pool {@code listen},
 * {@code hash} ({@code fnv1a_64} unless set), {@code distribution} ({@code ketama} unless set),
 * {@code redis: true} for a Redis pool, the options given with {@link Pool#with}, and the servers
 * as {@code host:port:1}.
 */
public final class NutcrackerServer extends ServerFixture {
  /** The placeholders a command may hold; see the class contract. */
  public static final String CONF = "{conf}";

  public static final String PORT = "{port}";
  public static final String STATS = "{stats}";

  /**
   * twemproxy as the Debian package installs it, stats on loopback, warnings logged to its output
   * (the fixture's log) rather than to the shared /var/log/nutcracker/nutcracker.log.
   */
  public static final List<String> TWEMPROXY =
      List.of("nutcracker", "-c", CONF, "-s", STATS, "-a", HOST, "-o", "/dev/stderr", "-v", "4");

  private static final Pattern POOL_NAME = Pattern.compile("[A-Za-z0-9_-]+");
  private static final Pattern OPTION = Pattern.compile("[a-z_]+");

  /** One pool of the configuration: its name, protocol, servers and any further keys. */
  public record Pool(
      String name, boolean redis, List<InetSocketAddress> servers, Map<String, String> options) {
    public Pool {
      if (!POOL_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException("pool name '" + name + "': use A-Z, a-z, 0-9, _ and -");
      }
      if (servers.isEmpty()) {
        throw new IllegalArgumentException("pool " + name + " has no servers");
      }
      for (String key : options.keySet()) {
        if (!OPTION.matcher(key).matches() || key.equals("listen") || key.equals("servers")) {
          throw new IllegalArgumentException("pool " + name + ": option '" + key + "'");
        }
      }
      servers = List.copyOf(servers);
      options = Map.copyOf(options);
    }

    /** A Redis pool ({@code redis: true}) over {@code servers}. */
    public static Pool redis(String name, List<InetSocketAddress> servers) {
      return new Pool(name, true, servers, Map.of());
    }

    /** A memcached pool (the text protocol) over {@code servers}. */
    public static Pool memcache(String name, List<InetSocketAddress> servers) {
      return new Pool(name, false, servers, Map.of());
    }

    /**
     * This pool with one more key, written as {@code key: value}, e.g. {@code with("hash", "md5")}.
     */
    public Pool with(String key, String value) {
      Map<String, String> more = new LinkedHashMap<>(options);
      more.put(key, value);
      return new Pool(name, redis, servers, more);
    }
  }

  private final Ports ports;
  private final Path confDir;
  private final String processName;

  private NutcrackerServer(ServerProcess process, Ports ports, Path confDir, String processName) {
    super(process);
    this.ports = ports;
    this.confDir = confDir;
    this.processName = processName;
  }

  /** Starts the real twemproxy ({@link #TWEMPROXY}) in front of {@code pools}. */
  public static NutcrackerServer start(List<Pool> pools) {
    return start(pools, TWEMPROXY);
  }

  /**
   * Starts {@code command}, with its placeholders replaced (see the class contract), in front of
   * {@code pools}: the first pool's listen port is {@link #port()}.
   */
  public static NutcrackerServer start(List<Pool> pools, List<String> command) {
    if (pools.isEmpty()) {
      throw new IllegalArgumentException("a proxy needs at least one pool");
    }
    if (command.isEmpty()) {
      throw new IllegalArgumentException("no command");
    }
    List<Pool> fixed = List.copyOf(pools);
    if (fixed.stream().map(Pool::name).distinct().count() != fixed.size()) {
      throw new IllegalArgumentException("two pools share a name: " + fixed);
    }
    Path confDir;
    try {
      confDir = Files.createTempDirectory("walnut-nutcracker-conf-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a directory for nutcracker.yml", e);
    }
    Path conf = confDir.resolve("nutcracker.yml");
    Ports ports = new Ports(fixed.size());
    // ServerProcess looks its binary up on the PATH by name; a path runs through env(1), which
    // execs it, so the pid is still the proxy's own.
    String first = command.get(0);
    boolean path = first.contains("/");
    String name = path ? "env" : first;
    List<String> rest = path ? command : command.subList(1, command.size());
    try {
      ServerProcess process =
          ServerProcess.start(
              name,
              path ? "coreutils" : first,
              port -> {
                ports.assign(port);
                write(conf, fixed, ports);
                return substitute(rest, conf, ports);
              },
              port -> ports.allListening(),
              true);
      return new NutcrackerServer(process, ports, confDir, name);
    } catch (RuntimeException | Error e) {
      deleteConf(confDir);
      throw e;
    }
  }

  /** The listen port of the pool named {@code pool}. */
  public int port(String pool) {
    return ports.of(pool);
  }

  /** The port given to the stats endpoint ({@code {stats}}, {@code -s}). */
  public int statsPort() {
    return ports.stats();
  }

  /** The configuration file the proxy runs with; gone after {@link #close()}. */
  public Path config() {
    return confDir.resolve("nutcracker.yml");
  }

  /** The proxy's output (standard output and error), for a test to show or keep before close. */
  public Path log() {
    return process.directory().resolve(processName + ".log");
  }

  @Override
  public void close() {
    try {
      super.close();
    } finally {
      deleteConf(confDir);
    }
  }

  @Override
  public String toString() {
    return "nutcracker[" + HOST + ":" + port() + ", pid " + pid() + "]";
  }

  /** The configuration, as {@link #start} writes it; for the fixture's own tests. */
  static String yaml(List<Pool> pools, List<Integer> listen) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < pools.size(); i++) {
      Pool pool = pools.get(i);
      Map<String, String> keys = new LinkedHashMap<>();
      keys.put("listen", HOST + ":" + listen.get(i));
      keys.put("hash", "fnv1a_64");
      keys.put("distribution", "ketama");
      if (pool.redis()) {
        keys.put("redis", "true");
      }
      pool.options().entrySet().stream()
          .sorted(Map.Entry.comparingByKey())
          .forEach(e -> keys.put(e.getKey(), e.getValue()));
      b.append(pool.name()).append(":\n");
      keys.forEach((k, v) -> b.append("  ").append(k).append(": ").append(v).append('\n'));
      b.append("  servers:\n");
      for (InetSocketAddress server : pool.servers()) {
        b.append("   - ")
            .append(server.getHostString())
            .append(':')
            .append(server.getPort())
            .append(":1\n");
      }
    }
    return b.toString();
  }

  private static void write(Path conf, List<Pool> pools, Ports ports) {
    try {
      Files.writeString(conf, yaml(pools, ports.listen(pools)), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + conf, e);
    }
  }

  private static List<String> substitute(List<String> args, Path conf, Ports ports) {
    List<String> out = new ArrayList<>();
    for (String arg : args) {
      out.add(
          arg.replace(CONF, conf.toString())
              .replace(PORT, Integer.toString(ports.main()))
              .replace(STATS, Integer.toString(ports.stats())));
    }
    return out;
  }

  /**
   * The ports of one proxy: the first pool's is the fixture's port, chosen by ServerProcess (and
   * chosen again after a bind clash); the other pools' and the stats port are drawn here, again for
   * each new main port, and kept when a restart reuses the main port.
   */
  private static final class Ports {
    private final int[] listen;
    private int stats;
    private List<String> names = List.of();

    Ports(int pools) {
      listen = new int[pools];
    }

    synchronized void assign(int main) {
      if (listen[0] == main && main != 0) {
        return; // a restart on the same port: keep the others too
      }
      listen[0] = main;
      for (int i = 1; i < listen.length; i++) {
        listen[i] = FreePorts.next();
      }
      stats = FreePorts.next();
    }

    synchronized List<Integer> listen(List<Pool> pools) {
      names = pools.stream().map(Pool::name).toList();
      List<Integer> ports = new ArrayList<>();
      for (int port : listen) {
        ports.add(port);
      }
      return ports;
    }

    synchronized int main() {
      return listen[0];
    }

    synchronized int stats() {
      return stats;
    }

    synchronized int of(String pool) {
      int i = names.indexOf(pool);
      if (i < 0) {
        throw new IllegalArgumentException("no pool named '" + pool + "' (pools: " + names + ")");
      }
      return listen[i];
    }

    boolean allListening() {
      int[] ports;
      synchronized (this) {
        ports = listen.clone();
      }
      for (int port : ports) {
        if (!accepts(port)) {
          return false;
        }
      }
      return true;
    }
  }

  private static boolean accepts(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(HOST, port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** The directory holds nothing but the configuration. */
  private static void deleteConf(Path dir) {
    try {
      Files.deleteIfExists(dir.resolve("nutcracker.yml"));
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + dir, e);
    }
  }
}
