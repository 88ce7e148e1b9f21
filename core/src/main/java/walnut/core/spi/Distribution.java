package walnut.core.spi;

import java.util.List;
import walnut.core.config.ServerConfig;

/**
 * Maps key hashes onto servers, named as in a pool's {@code distribution:} key ({@code ketama},
 * {@code modula}, {@code random}).
 *
 * <p>Contract: thread-safe and stateless. {@link #build} receives the live servers in twemproxy's
 * sorted order (name length first, then bytes) and returns an immutable {@link Continuum} whose
 * {@link Continuum#serverFor} answers positions in that list. It is called at start-up and on
 * every ejection or return, never per request.
 */
public interface Distribution {

  /** The name a config file uses. */
  String name();

  /** Builds the table for {@code servers}; {@code hash} is the pool's key hash. */
  Continuum build(List<ServerConfig> servers, HashFunction hash);
}
