package walnut.core.routing;

import io.netty.buffer.ByteBuf;
import java.util.List;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Continuum;
import walnut.core.spi.Distribution;
import walnut.core.spi.HashFunction;

/**
 * Routing that tests can aim keys with: together, {@link #FIRST_BYTE} and {@link #MODULO} send a
 * key whose first byte is {@code b} to live server {@code b mod n}. So in a pool of three, a key
 * starting with byte 1 goes to server 1, and ({@code '0'} being 48) keys {@code 0…},
 * {@code 1…}, {@code 2…} go to servers 0, 1 and 2. Shared by the router's and the engine's
 * tests.
 */
public final class TestRouting {

  /** The key's first byte as its hash. */
  public static final HashFunction FIRST_BYTE = new HashFunction() {
    @Override
    public String name() {
      return "first_byte";
    }

    @Override
    public int hash(ByteBuf key, int offset, int length) {
      return key.getByte(offset) & 0xff;
    }
  };

  /** One slot per live server in list order: server = hash mod n. */
  public static final Distribution MODULO = new Distribution() {
    @Override
    public String name() {
      return "modulo";
    }

    @Override
    public Continuum build(List<ServerConfig> servers, HashFunction hash) {
      int n = servers.size();
      return h -> Integer.remainderUnsigned(h, n);
    }
  };

  private TestRouting() {}
}
