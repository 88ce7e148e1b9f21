package walnut.core.config;

import static com.google.common.base.Preconditions.checkArgument;
import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One pool of twemproxy's {@code nutcracker.yml}: a listener, the servers behind it and how keys
 * are spread over them. Defaults are twemproxy 0.5.0's (docs/compatibility.md#pool-keys).
 *
 * <p>Immutable. {@code servers} is kept in twemproxy's sorted order (see
 * {@link ServerConfig#NAME_ORDER}); that order, not the file's, decides modula slots, ketama ties
 * and the stats layout. The compact constructor checks the invariants a loader must already have
 * reported to the user with file and line; here they guard programmatic configurations.
 */
public record PoolConfig(
    String name,
    Endpoint listen,
    String hash,
    String hashTag,
    String distribution,
    int timeout,
    int backlog,
    int clientConnections,
    boolean redis,
    String redisAuth,
    int redisDb,
    boolean preconnect,
    boolean autoEjectHosts,
    int serverConnections,
    long serverRetryTimeout,
    int serverFailureLimit,
    boolean tcpKeepalive,
    long maxRequestSize,
    boolean reuseport,
    int clientIdleTimeout,
    boolean resp3,
    int healthCheckInterval,
    boolean autoEjectRemap,
    boolean mgetPartialErrors,
    int maxPinnedConnections,
    List<Endpoint> sentinels,
    String sentinelPassword,
    int sentinelRefreshInterval,
    ListenerTls tls,
    BackendTls serverTls,
    List<ServerConfig> servers) {

  public static final String DEFAULT_HASH = "fnv1a_64";
  public static final String DEFAULT_DISTRIBUTION = "ketama";
  /** No timeout: wait for a reply forever. */
  public static final int DEFAULT_TIMEOUT = -1;
  public static final int DEFAULT_BACKLOG = 512;
  public static final int DEFAULT_SERVER_CONNECTIONS = 1;
  public static final long DEFAULT_SERVER_RETRY_TIMEOUT = 30_000;
  public static final int DEFAULT_SERVER_FAILURE_LIMIT = 2;
  /** Redis's own limit on a request ({@code client-query-buffer-limit}'s bulk: 512 MiB). */
  public static final long DEFAULT_REDIS_MAX_REQUEST_SIZE = 512L << 20;
  /** memcached's default item size ({@code -I 1m}): the largest data block of a storage command. */
  public static final long DEFAULT_MEMCACHE_MAX_REQUEST_SIZE = 1L << 20;
  /** How often the sentinels are asked where the masters are, in ms (Walnut's default). */
  public static final int DEFAULT_SENTINEL_REFRESH_INTERVAL = 1_000;
  /** Per server: see {@link Builder#maxPinnedConnections}. */
  public static final int DEFAULT_MAX_PINNED_CONNECTIONS = 64;

  public PoolConfig {
    requireNonNull(name, "name");
    requireNonNull(listen, "listen");
    requireNonNull(hash, "hash");
    requireNonNull(distribution, "distribution");
    checkArgument(hashTag == null || hashTag.getBytes(StandardCharsets.ISO_8859_1).length == 2,
        "pool '%s': hash_tag: '%s' (expected: two characters)", name, hashTag);
    checkArgument(serverConnections > 0, "pool '%s': server_connections: %s (expected: > 0)",
        name, serverConnections);
    checkArgument(redisAuth == null || redis,
        "pool '%s': redis_auth is only valid for a redis pool", name);
    checkArgument(redisDb >= 0, "pool '%s': redis_db: %s (expected: >= 0)", name, redisDb);
    checkArgument(clientIdleTimeout >= 0, "pool '%s': client_idle_timeout: %s (expected: >= 0)",
        name, clientIdleTimeout);
    checkArgument(clientConnections >= 0, "pool '%s': client_connections: %s (expected: >= 0)",
        name, clientConnections);
    checkArgument(healthCheckInterval >= 0,
        "pool '%s': health_check_interval: %s (expected: >= 0)", name, healthCheckInterval);
    checkArgument(maxPinnedConnections >= 0,
        "pool '%s': max_pinned_connections: %s (expected: >= 0)", name, maxPinnedConnections);
    checkArgument(maxRequestSize >= 0, "pool '%s': max_request_size: %s (expected: >= 0)", name,
        maxRequestSize);
    if (maxRequestSize == 0) {
      maxRequestSize = redis ? DEFAULT_REDIS_MAX_REQUEST_SIZE : DEFAULT_MEMCACHE_MAX_REQUEST_SIZE;
    }
    sentinels = sentinels == null ? List.of() : List.copyOf(sentinels);
    checkArgument(sentinels.isEmpty() || redis,
        "pool '%s': sentinels are only valid for a redis pool", name);
    checkArgument(sentinelPassword == null || !sentinels.isEmpty(),
        "pool '%s': sentinel_password needs sentinels", name);
    if (sentinelRefreshInterval == 0) {
      sentinelRefreshInterval = DEFAULT_SENTINEL_REFRESH_INTERVAL;
    }
    checkArgument(sentinelRefreshInterval > 0,
        "pool '%s': sentinel_refresh_interval: %s (expected: > 0)", name,
        sentinelRefreshInterval);
    checkArgument(tls == null || !listen.isUnix(),
        "pool '%s': a unix socket listener cannot speak TLS", name);
    checkArgument(!servers.isEmpty(), "pool '%s' has no servers", name);
    Set<String> names = new HashSet<>();
    for (ServerConfig server : servers) {
      checkArgument(names.add(server.name()), "pool '%s' has servers with same name '%s'", name,
          server.name());
    }
    checkArgument(serverTls == null || servers.stream().noneMatch(s -> s.endpoint().isUnix()),
        "pool '%s': server_tls: a unix socket server cannot be reached over TLS", name);
    servers = ImmutableList.sortedCopyOf(
        (a, b) -> ServerConfig.NAME_ORDER.compare(a.name(), b.name()), servers);
  }

  /** The protocol the pool speaks: {@code redis} or {@code memcache}. */
  public String protocol() {
    return redis ? "redis" : "memcache";
  }

  /** The hash tag's two bytes, or {@code null} when the pool has none. */
  public byte[] hashTagBytes() {
    return hashTag == null ? null : hashTag.getBytes(StandardCharsets.ISO_8859_1);
  }

  /**
   * Whether an ejected server returns only after a probe succeeds (Walnut's
   * {@code health_check_interval}), rather than blindly when {@code server_retry_timeout} passed.
   */
  public boolean healthChecked() {
    return ejects() && healthCheckInterval > 0;
  }

  /**
   * Whether the pool's servers are Redis masters that Sentinel fails over (Walnut's
   * {@code sentinels} key): a server's address is where the sentinels say its name is.
   */
  public boolean sentinelled() {
    return !sentinels.isEmpty();
  }

  /**
   * Whether a failing server is ejected: {@code auto_eject_hosts}, except in a pool with
   * sentinels, where failing over is Sentinel's job and ejecting would move a master's keys
   * onto another shard (docs/compatibility.md#sentinel).
   */
  public boolean ejects() {
    return autoEjectHosts && sentinels.isEmpty();
  }

  /** A request timeout is in force: twemproxy treats -1 and 0 alike as "wait forever". */
  public boolean hasTimeout() {
    return timeout > 0;
  }

  public static Builder builder(String name) {
    return new Builder(name);
  }

  public Builder toBuilder() {
    Builder b = new Builder(name);
    b.listen = listen;
    b.hash = hash;
    b.hashTag = hashTag;
    b.distribution = distribution;
    b.timeout = timeout;
    b.backlog = backlog;
    b.clientConnections = clientConnections;
    b.redis = redis;
    b.redisAuth = redisAuth;
    b.redisDb = redisDb;
    b.preconnect = preconnect;
    b.autoEjectHosts = autoEjectHosts;
    b.serverConnections = serverConnections;
    b.serverRetryTimeout = serverRetryTimeout;
    b.serverFailureLimit = serverFailureLimit;
    b.tcpKeepalive = tcpKeepalive;
    b.maxRequestSize = maxRequestSize;
    b.reuseport = reuseport;
    b.clientIdleTimeout = clientIdleTimeout;
    b.resp3 = resp3;
    b.healthCheckInterval = healthCheckInterval;
    b.autoEjectRemap = autoEjectRemap;
    b.mgetPartialErrors = mgetPartialErrors;
    b.maxPinnedConnections = maxPinnedConnections;
    b.sentinels.addAll(sentinels);
    b.sentinelPassword = sentinelPassword;
    b.sentinelRefreshInterval = sentinelRefreshInterval;
    b.tls = tls;
    b.serverTls = serverTls;
    b.servers.addAll(servers);
    return b;
  }

  /** Builds a pool with twemproxy's defaults for everything not set. */
  public static final class Builder {
    private final String name;
    private Endpoint listen;
    private String hash = DEFAULT_HASH;
    private String hashTag;
    private String distribution = DEFAULT_DISTRIBUTION;
    private int timeout = DEFAULT_TIMEOUT;
    private int backlog = DEFAULT_BACKLOG;
    private int clientConnections;
    private boolean redis;
    private String redisAuth;
    private int redisDb;
    private boolean preconnect;
    private boolean autoEjectHosts;
    private int serverConnections = DEFAULT_SERVER_CONNECTIONS;
    private long serverRetryTimeout = DEFAULT_SERVER_RETRY_TIMEOUT;
    private int serverFailureLimit = DEFAULT_SERVER_FAILURE_LIMIT;
    private boolean tcpKeepalive;
    private long maxRequestSize;
    private boolean reuseport;
    private boolean resp3 = true;
    private int maxPinnedConnections = DEFAULT_MAX_PINNED_CONNECTIONS;
    private int clientIdleTimeout;
    private int healthCheckInterval;
    private boolean autoEjectRemap = true;
    private boolean mgetPartialErrors;
    private final List<Endpoint> sentinels = new ArrayList<>();
    private String sentinelPassword;
    private int sentinelRefreshInterval;
    private ListenerTls tls;
    private BackendTls serverTls;
    private final List<ServerConfig> servers = new ArrayList<>();

    private Builder(String name) {
      this.name = name;
    }

    public Builder listen(Endpoint listen) {
      this.listen = listen;
      return this;
    }

    public Builder hash(String hash) {
      this.hash = hash;
      return this;
    }

    public Builder hashTag(String hashTag) {
      this.hashTag = hashTag;
      return this;
    }

    public Builder distribution(String distribution) {
      this.distribution = distribution;
      return this;
    }

    public Builder timeout(int timeout) {
      this.timeout = timeout;
      return this;
    }

    public Builder backlog(int backlog) {
      this.backlog = backlog;
      return this;
    }

    public Builder clientConnections(int clientConnections) {
      this.clientConnections = clientConnections;
      return this;
    }

    public Builder redis(boolean redis) {
      this.redis = redis;
      return this;
    }

    public Builder redisAuth(String redisAuth) {
      this.redisAuth = redisAuth;
      return this;
    }

    public Builder redisDb(int redisDb) {
      this.redisDb = redisDb;
      return this;
    }

    public Builder preconnect(boolean preconnect) {
      this.preconnect = preconnect;
      return this;
    }

    public Builder autoEjectHosts(boolean autoEjectHosts) {
      this.autoEjectHosts = autoEjectHosts;
      return this;
    }

    public Builder serverConnections(int serverConnections) {
      this.serverConnections = serverConnections;
      return this;
    }

    public Builder serverRetryTimeout(long serverRetryTimeout) {
      this.serverRetryTimeout = serverRetryTimeout;
      return this;
    }

    public Builder serverFailureLimit(int serverFailureLimit) {
      this.serverFailureLimit = serverFailureLimit;
      return this;
    }

    public Builder tcpKeepalive(boolean tcpKeepalive) {
      this.tcpKeepalive = tcpKeepalive;
      return this;
    }

    /**
     * The largest request a client may send, in bytes (Walnut's {@code max_request_size} key); 0
     * means the protocol's default: 512 MiB for Redis, 1 MiB of data for memcached.
     */
    public Builder maxRequestSize(long maxRequestSize) {
      this.maxRequestSize = maxRequestSize;
      return this;
    }

    /**
     * SO_REUSEPORT on the pool's listening socket (twemproxy master's {@code reuseport} key), so
     * several processes can share the port, as during a rolling upgrade.
     */
    public Builder reuseport(boolean reuseport) {
      this.reuseport = reuseport;
      return this;
    }

    /**
     * Closes a client connection that has sent nothing and is owed nothing for this many
     * milliseconds (Walnut's {@code client_idle_timeout} key); 0 keeps idle clients forever.
     */
    public Builder clientIdleTimeout(int clientIdleTimeout) {
      this.clientIdleTimeout = clientIdleTimeout;
      return this;
    }

    /**
     * Whether a Redis client may switch to RESP3 with {@code HELLO 3} (Walnut's {@code resp3}
     * key, default true); when false, {@code HELLO 3} is answered {@code -NOPROTO}, so clients
     * stay in RESP2, as with a server older than Redis 6.
     */
    public Builder resp3(boolean resp3) {
      this.resp3 = resp3;
      return this;
    }

    /**
     * Private connections per server for the whole process ({@code max_pinned_connections}), for
     * transactions, blocks, subscriptions; 0 refuses them. Each is a client of the server: 64 is
     * 8 times a client library's pool, and 20 proxies stay within 1/8 of Redis's maxclients.
     */
    public Builder maxPinnedConnections(int maxPinnedConnections) {
      this.maxPinnedConnections = maxPinnedConnections;
      return this;
    }

    /**
     * Probes an ejected server every this many ms once {@code server_retry_timeout} has passed,
     * and puts it back only when a probe succeeds (Walnut's {@code health_check_interval} key;
     * 0, the default, returns it blindly, as twemproxy does). Only with {@code auto_eject_hosts}.
     */
    public Builder healthCheckInterval(int healthCheckInterval) {
      this.healthCheckInterval = healthCheckInterval;
      return this;
    }

    /**
     * Whether an ejected server's keys move to the other servers (Walnut's
     * {@code auto_eject_remap} key; true, the default, is twemproxy's behaviour). With false the
     * server keeps its place in the continuum and its keys are answered an error while it is out.
     */
    public Builder autoEjectRemap(boolean autoEjectRemap) {
      this.autoEjectRemap = autoEjectRemap;
      return this;
    }

    /**
     * Whether a Redis MGET split over several servers answers the healthy servers' values and an
     * error in each failed key's place (Walnut's {@code mget_partial_errors} key; false, the
     * default, answers one error for the whole request, as twemproxy does).
     */
    public Builder mgetPartialErrors(boolean mgetPartialErrors) {
      this.mgetPartialErrors = mgetPartialErrors;
      return this;
    }

    /**
     * The sentinels that say where the pool's masters are (Walnut's {@code sentinels} key): each
     * server's name is a Sentinel master name, its configured address a first guess.
     */
    public Builder sentinels(List<Endpoint> sentinels) {
      this.sentinels.clear();
      this.sentinels.addAll(sentinels);
      return this;
    }

    /** The password sent to the sentinels with AUTH (Walnut's {@code sentinel_password}). */
    public Builder sentinelPassword(String sentinelPassword) {
      this.sentinelPassword = sentinelPassword;
      return this;
    }

    /** How often, in ms, the sentinels are asked again (0: the default, 1 s). */
    public Builder sentinelRefreshInterval(int sentinelRefreshInterval) {
      this.sentinelRefreshInterval = sentinelRefreshInterval;
      return this;
    }

    /** TLS on the listener (Walnut's {@code tls_*} keys), or {@code null} for plain TCP. */
    public Builder tls(ListenerTls tls) {
      this.tls = tls;
      return this;
    }

    /** TLS to the servers (Walnut's {@code server_tls*} keys), or {@code null} for plain TCP. */
    public Builder serverTls(BackendTls serverTls) {
      this.serverTls = serverTls;
      return this;
    }

    public Builder server(ServerConfig server) {
      servers.add(server);
      return this;
    }

    public Builder servers(List<ServerConfig> servers) {
      this.servers.clear();
      this.servers.addAll(servers);
      return this;
    }

    public PoolConfig build() {
      return new PoolConfig(name, listen, hash, hashTag, distribution, timeout, backlog,
          clientConnections, redis, redisAuth, redisDb, preconnect, autoEjectHosts,
          serverConnections, serverRetryTimeout, serverFailureLimit, tcpKeepalive, maxRequestSize,
          reuseport, clientIdleTimeout, resp3, healthCheckInterval, autoEjectRemap,
          mgetPartialErrors, maxPinnedConnections, sentinels, sentinelPassword,
          sentinelRefreshInterval, tls, serverTls, servers);
    }
  }
}
