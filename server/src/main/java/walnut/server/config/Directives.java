package walnut.server.config;

import java.util.Set;
import java.util.TreeSet;
import walnut.core.config.Endpoint;

/**
 * What reading a directive needs beyond its text: the file's name for messages, the resolver
 * for {@code listen:}, and, when the caller knows them, the hash and distribution names that
 * exist. Without those names any non-empty name is kept, to be checked against the plug-in
 * registry later: hashes and distributions come from plug-ins, so there is no fixed list here.
 */
final class Directives {

  /**
   * twemproxy 0.5.0's pool keys, plus Walnut's extensions: {@code reuseport} (twemproxy master
   * has it), {@code max_request_size}, {@code client_idle_timeout}, {@code resp3},
   * {@code health_check_interval}, {@code auto_eject_remap}, {@code mget_partial_errors},
   * {@code max_pinned_connections}, the Sentinel keys {@code sentinels},
   * {@code sentinel_password} and {@code sentinel_refresh_interval}, and the TLS keys
   * ({@link TlsDraft#KEYS}).
   */
  static final Set<String> KEYS = Set.of("listen", "hash", "hash_tag", "distribution", "timeout",
      "backlog", "client_connections", "redis", "redis_auth", "redis_db", "preconnect",
      "auto_eject_hosts", "server_connections", "server_retry_timeout", "server_failure_limit",
      "tcpkeepalive", "servers", "reuseport", "max_request_size", "client_idle_timeout",
      "resp3", "health_check_interval", "auto_eject_remap", "mget_partial_errors",
      "max_pinned_connections", "sentinels", "sentinel_password", "sentinel_refresh_interval",
      "tls_cert_file", "tls_key_file", "tls_ca_file", "tls_client_auth", "server_tls",
      "server_tls_ca_file", "server_tls_cert_file", "server_tls_key_file",
      "server_tls_server_name", "server_tls_verify");

  private final String fileName;
  private final ListenParser listen;
  private final Set<String> hashes;
  private final Set<String> distributions;

  Directives(String fileName, HostResolver resolver, Set<String> hashes,
      Set<String> distributions) {
    this.fileName = fileName;
    this.listen = new ListenParser(resolver);
    this.hashes = hashes;
    this.distributions = distributions;
  }

  String fileName() {
    return fileName;
  }

  Endpoint listen(String value) throws BadValue {
    return listen.parse(value);
  }

  String hash(String value) throws BadValue {
    return named(value, hashes, "is not a valid hash");
  }

  String distribution(String value) throws BadValue {
    return named(value, distributions, "is not a valid distribution");
  }

  private static String named(String value, Set<String> known, String reason) throws BadValue {
    if (known != null && !known.contains(value)) {
      throw new BadValue(reason + " (known: " + String.join(", ", new TreeSet<>(known)) + ")");
    }
    return value;
  }
}
