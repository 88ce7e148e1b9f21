package example.hash;

import io.netty.buffer.ByteBuf;
import walnut.core.spi.HashFunction;

/** Dan Bernstein's djb2 ({@code h = h * 33 + b}), usable in nutcracker.yml as {@code hash: djb2}. */
public final class Djb2Hash implements HashFunction {

  @Override
  public String name() {
    return "djb2";
  }

  @Override
  public int hash(ByteBuf key, int offset, int length) {
    int h = 5381;
    for (int i = offset; i < offset + length; i++) {
      h = h * 33 + (key.getByte(i) & 0xff);
    }
    return h;
  }
}
