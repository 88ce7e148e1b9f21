package walnut.core.proxy;

/**
 * One server of a running pool as the proxy sees it now ({@link ProxyServer#serverStates}): where
 * it is, and whether it is in the ring.
 *
 * @param index its place in the pool's servers (twemproxy's sorted order)
 * @param address where it is now (a Sentinel pool's server: its master's address now)
 * @param reason while it is out: why (what ejected it: "Connection refused"); {@code null} while
 *     it serves
 * @param returnsAtMillis while {@link State#EJECTED}: the wall-clock time it goes back into the
 *     ring, where the next request tries it; else 0
 */
public record ServerState(int index, String name, String address, State state, String reason,
    long returnsAtMillis) {

  /** In the ring, out until its retry time, or out until a probe answers. */
  public enum State {
    SERVING, EJECTED, PROBING;

    public String field() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }
}
