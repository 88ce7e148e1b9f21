package walnut.server.config;

/**
 * Whether a {@code listen:} host resolves. twemproxy resolves a pool's listen address when it
 * loads the file and refuses the file when that fails (spec §3.3); tests substitute a resolver
 * that needs no DNS.
 */
@FunctionalInterface
interface HostResolver {

  boolean resolves(String host);
}
