package walnut.core.spi;

/**
 * The lookup table a {@link Distribution} builds for one set of live servers.
 *
 * <p>Contract: immutable and thread-safe; lookups never allocate. The engine never mutates a
 * continuum: when a server is ejected or returns, it builds a new one and publishes it through a
 * volatile reference.
 */
public interface Continuum {

  /**
   * Returns the position, in the server list the continuum was built from, of the server that
   * owns {@code hash} (an unsigned 32-bit value carried in an {@code int}).
   */
  int serverFor(int hash);
}
