package walnut.redis;

/**
 * Where the first arguments of the request being decoded lie, relative to the frame's first byte:
 * enough to look the command up and route it (the key is argument 1; EVAL's numkeys and first key
 * are arguments 2 and 3) without walking the frame again. One per decoder, reused.
 */
final class Args {

  /** The command name and the three arguments after it. */
  static final int TRACKED = 4;

  /** Arguments in the frame, the command name included. */
  int count;

  private final int[] offset = new int[TRACKED];
  private final int[] length = new int[TRACKED];

  void set(int index, int offset, int length) {
    this.offset[index] = offset;
    this.length[index] = length;
  }

  /** Offset of argument {@code index} ({@code < TRACKED}) from the frame's first byte. */
  int offset(int index) {
    return offset[index];
  }

  int length(int index) {
    return length[index];
  }
}
