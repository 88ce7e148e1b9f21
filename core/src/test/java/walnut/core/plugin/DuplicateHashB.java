package walnut.core.plugin;

import io.netty.buffer.ByteBuf;
import walnut.core.spi.HashFunction;

/**
 * One of two hash plug-ins that both call themselves {@code dup}; {@link PluginRegistryTest} copies
 * its class file into a jar of its own.
 */
public final class DuplicateHashB implements HashFunction {

  public DuplicateHashB() {}

  @Override
  public String name() {
    return "dup";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    return 2;
  }
}
