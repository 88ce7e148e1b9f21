package walnut.server.config;

/**
 * Whether a {@code listen:} host resolves. twemproxy resolves a pool's listen address when it
 * loads the file and refuses the file when that fails (docs/compatibility.md#listen-addresses);
 * tests substitute a resolver that needs no DNS.
 */
@FunctionalInterface
interface HostResolver {

  boolean resolves(String host);
}
