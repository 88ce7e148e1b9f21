package walnut.server.config;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;

/**
 * One pool while its directives are read, in file order, each checked as twemproxy's setter
 * checks it (docs/compatibility.md#pool-keys): a second occurrence is "a duplicate" before its
 * value is even looked at, and the first bad directive ends the load. Then {@link #validate} runs
 * twemproxy's per-pool checks and {@link #build} fills in twemproxy's defaults.
 */
final class PoolDraft {

  /** Every probe is a connection of its own: a few ms apart would exhaust ephemeral ports. */
  static final int MIN_HEALTH_CHECK_INTERVAL = 10;
  /** Each refresh asks every sentinel about every master: more often would only load them. */
  static final int MIN_SENTINEL_REFRESH_INTERVAL = 100;

  private final Directives directives;
  final String name;
  final int line;
  private final Map<String, Integer> seen = new HashMap<>();
  private final PoolConfig.Builder builder;

  String listenText;
  int listenLine;
  private Endpoint listen;
  private boolean redis;
  private boolean autoEjectHosts;
  private int healthCheckInterval;
  private boolean autoEjectRemap = true;
  private boolean mgetPartialErrors;
  private String redisAuth;
  private int serverConnections = PoolConfig.DEFAULT_SERVER_CONNECTIONS;
  private final List<ServerConfig> servers = new ArrayList<>();
  private final List<Integer> serverLines = new ArrayList<>();
  /** The line of the first server without a name: a pool with sentinels needs every name. */
  private int unnamedServerLine;
  private final List<Endpoint> sentinels = new ArrayList<>();
  private final TlsDraft tls = new TlsDraft();

  PoolDraft(Directives directives, String name, int line) {
    this.directives = directives;
    this.name = name;
    this.line = line;
    this.builder = PoolConfig.builder(name);
  }

  /** Applies {@code key: value}; a list item counts as a value of its list's key. */
  void apply(String key, String value, int valueLine) {
    if (!Directives.KEYS.contains(key)) {
      throw directiveError(valueLine, key, "is unknown"
          + (Directives.KEYS.contains(key.toLowerCase(Locale.ROOT))
              ? " (directives are lower case)" : ""));
    }
    Integer first = seen.putIfAbsent(key, valueLine);
    if (!key.equals("servers") && !key.equals("sentinels")) {
      if (first != null) {
        throw directiveError(valueLine, key, "is a duplicate (first given at line " + first + ")");
      }
    }
    try {
      set(key, value, valueLine);
    } catch (BadValue e) {
      throw ConfigException.at(directives.fileName(), valueLine,
          "pool '" + name + "': directive \"" + key + "\": '" + value + "' " + e.reason());
    }
  }

  private void set(String key, String value, int valueLine) throws BadValue {
    switch (key) {
      case "listen" -> {
        listen = directives.listen(value);
        builder.listen(listen);
        listenText = value;
        listenLine = valueLine;
      }
      case "hash" -> builder.hash(directives.hash(value));
      case "hash_tag" -> builder.hashTag(Values.hashTag(value));
      case "distribution" -> builder.distribution(directives.distribution(value));
      case "timeout" -> builder.timeout(Values.number(value));
      case "backlog" -> builder.backlog(Values.number(value));
      // twemproxy parses client_connections and then resets it to 0; Walnut does what its
      // README promises: a per-pool limit, 0 meaning none.
      case "client_connections" -> builder.clientConnections(Values.number(value));
      case "redis" -> {
        redis = Values.bool(value);
        builder.redis(redis);
      }
      case "redis_auth" -> {
        redisAuth = value;
        builder.redisAuth(value);
      }
      case "redis_db" -> builder.redisDb(Values.number(value));
      case "preconnect" -> builder.preconnect(Values.bool(value));
      case "auto_eject_hosts" -> {
        autoEjectHosts = Values.bool(value);
        builder.autoEjectHosts(autoEjectHosts);
      }
      case "server_connections" -> {
        serverConnections = Values.number(value);
        builder.serverConnections(serverConnections);
      }
      case "server_retry_timeout" -> builder.serverRetryTimeout(Values.number(value));
      case "server_failure_limit" -> builder.serverFailureLimit(Values.number(value));
      case "tcpkeepalive" -> builder.tcpKeepalive(Values.bool(value));
      // Walnut extension (twemproxy master has it, 0.5.0 does not): SO_REUSEPORT on the listener.
      case "reuseport" -> builder.reuseport(Values.bool(value));
      // Walnut extension: the largest request a client may send (bytes, or with k/m/g).
      case "max_request_size" -> builder.maxRequestSize(Values.size(value));
      // Walnut extension: close clients idle this many ms (0: never).
      case "client_idle_timeout" -> builder.clientIdleTimeout(Values.number(value));
      // Walnut extension: whether HELLO 3 switches a Redis client to RESP3 (default true).
      case "resp3" -> builder.resp3(Values.bool(value));
      // Walnut extensions (docs/compatibility.md#failure-modes): probe an ejected server before
      // it returns (ms, 0: off); keep an ejected server's keys in place; answer MGET in part.
      case "health_check_interval" -> {
        healthCheckInterval = Values.number(value);
        builder.healthCheckInterval(healthCheckInterval);
      }
      case "auto_eject_remap" -> {
        autoEjectRemap = Values.bool(value);
        builder.autoEjectRemap(autoEjectRemap);
      }
      case "mget_partial_errors" -> {
        mgetPartialErrors = Values.bool(value);
        builder.mgetPartialErrors(mgetPartialErrors);
      }
      // Walnut extension (issue #24): private server connections per server for the whole process,
      // for transactions and blocking commands (0: refuse them all).
      case "max_pinned_connections" -> builder.maxPinnedConnections(Values.number(value));
      case "servers" -> {
        servers.add(ServerLineParser.parse(value));
        serverLines.add(valueLine);
        if (value.lastIndexOf(' ') < 0 && unnamedServerLine == 0) {
          unnamedServerLine = valueLine;
        }
      }
      // Walnut extension (docs/compatibility.md#sentinel): the sentinels that say where each
      // server's master is, its name being the master's name; AUTH for them; how often to ask.
      case "sentinels" -> {
        Endpoint sentinel = ServerLineParser.sentinel(value);
        if (sentinels.contains(sentinel)) {
          throw new BadValue("is listed twice");
        }
        sentinels.add(sentinel);
        builder.sentinels(sentinels);
      }
      case "sentinel_password" -> builder.sentinelPassword(value);
      case "sentinel_refresh_interval" -> {
        int interval = Values.number(value);
        if (interval < MIN_SENTINEL_REFRESH_INTERVAL) {
          throw new BadValue("is below " + MIN_SENTINEL_REFRESH_INTERVAL + " ms");
        }
        builder.sentinelRefreshInterval(interval);
      }
      // Walnut extension (docs/compatibility.md#tls): TLS on the listener and to the servers.
      case "tls_cert_file", "tls_key_file", "tls_ca_file", "tls_client_auth", "server_tls",
          "server_tls_ca_file", "server_tls_cert_file", "server_tls_key_file",
          "server_tls_server_name", "server_tls_verify" -> tls.set(key, value, valueLine);
      default -> throw new IllegalStateException("no setter for directive " + key);
    }
  }

  /** twemproxy's per-pool checks, in its order, after every directive of every pool was read. */
  void validate() {
    if (listenText == null) {
      throw directiveError(line, "listen:", "is missing");
    }
    if (serverConnections == 0) {
      throw directiveError(seen.get("server_connections"), "server_connections:",
          "cannot be 0 (expected: at least 1)");
    }
    if (redisAuth != null && !redis) {
      throw directiveError(seen.get("redis_auth"), "redis_auth:",
          "is only valid for a redis pool (add redis: true)");
    }
    if (seen.containsKey("resp3") && !redis) {
      throw directiveError(seen.get("resp3"), "resp3:",
          "is only valid for a redis pool (add redis: true)");
    }
    // Only Redis has transactions and blocking commands: on a memcached pool the key does nothing.
    if (seen.containsKey("max_pinned_connections") && !redis) {
      throw directiveError(seen.get("max_pinned_connections"), "max_pinned_connections:",
          "is only valid for a redis pool (add redis: true)");
    }
    if (healthCheckInterval > 0 && healthCheckInterval < MIN_HEALTH_CHECK_INTERVAL) {
      throw directiveError(seen.get("health_check_interval"), "health_check_interval:",
          "is below " + MIN_HEALTH_CHECK_INTERVAL + " ms (each probe is a new connection; 0 turns"
              + " probing off)");
    }
        String ejectOnly = healthCheckInterval > 0 ? "health_check_interval"
        : !autoEjectRemap ? "auto_eject_remap" : null;
    if (ejectOnly != null && !autoEjectHosts) {
      throw directiveError(seen.get(ejectOnly), ejectOnly + ":",
          "is only valid with auto_eject_hosts: true (no server is ever ejected without it)");
    }
    if (mgetPartialErrors && !redis) {
      throw directiveError(seen.get("mget_partial_errors"), "mget_partial_errors:",
          "is only valid for a redis pool (add redis: true)");
    }
    validateSentinels();
    if (servers.isEmpty()) {
      throw poolError(line, "has no servers");
    }
    checkDistinctServerNames();
    TlsDraft.Problem problem = tls.check(name, line, listen.isUnix(),
        servers.stream().anyMatch(s -> s.endpoint().isUnix()));
    if (problem != null) {
      throw directiveError(problem.line(), problem.key() + ":", problem.message());
    }
  }

  /** Walnut's Sentinel keys: where they may be, and what a pool with sentinels needs. */
  private void validateSentinels() {
    if (sentinels.isEmpty()) {
      for (String key : List.of("sentinel_password", "sentinel_refresh_interval")) {
        if (seen.containsKey(key)) {
          throw directiveError(seen.get(key), key + ":",
              "is only valid in a pool with sentinels (add a sentinels: list)");
        }
      }
      return;
    }
    int at = seen.getOrDefault("sentinels", line);
    if (!redis) {
      throw directiveError(at, "sentinels:", "is only valid for a redis pool (add redis: true)");
    }
    String ejectOnly = healthCheckInterval > 0 ? "health_check_interval"
        : !autoEjectRemap ? "auto_eject_remap" : null;
    if (ejectOnly != null) {
      throw directiveError(seen.get(ejectOnly), ejectOnly + ":", "has no effect in a pool with"
          + " sentinels (Sentinel fails a master over; no server of such a pool is ejected)");
    }
    if (unnamedServerLine != 0) {
      throw ConfigException.at(directives.fileName(), unnamedServerLine, "pool '" + name
          + "': a server of a pool with sentinels needs a name: its Sentinel master name"
          + " (host:port:weight name)");
    }
  }

  /** Like twemproxy, reports the first clash in sorted name order. */
  private void checkDistinctServerNames() {
    Set<String> names = new TreeSet<>(ServerConfig.NAME_ORDER);
    String clash = null;
    for (ServerConfig server : servers) {
      if (!names.add(server.name()) && (clash == null
          || ServerConfig.NAME_ORDER.compare(server.name(), clash) < 0)) {
        clash = server.name();
      }
    }
    if (clash != null) {
      List<Integer> lines = new ArrayList<>();
      for (int i = 0; i < servers.size(); i++) {
        if (servers.get(i).name().equals(clash)) {
          lines.add(serverLines.get(i));
        }
      }
      throw poolError(lines.get(1), "has servers with same name '" + clash + "' (lines "
          + lines.get(0) + " and " + lines.get(1) + ")");
    }
  }

  PoolConfig build() {
    return builder.tls(tls.listener()).serverTls(tls.backend()).servers(servers).build();
  }

  /** {@code file:line: pool 'p': directive "key" reason}, twemproxy's wording after the pool. */
  private ConfigException directiveError(int at, String key, String reason) {
    return ConfigException.at(directives.fileName(), at,
        "pool '" + name + "': directive \"" + key + "\" " + reason);
  }

  private ConfigException poolError(int at, String message) {
    return ConfigException.at(directives.fileName(), at, "pool '" + name + "' " + message);
  }
}
