package walnut.hashing;

import java.util.Arrays;

/**
 * twemproxy's hash-tag rule (docs/compatibility.md#hash-tags), only so the placement tests can
 * replay the hash-tag vectors; routing owns the real one.
 */
final class HashTags {

  private HashTags() {}

  static byte[] hashed(byte[] key, String tag) {
    if (tag == null) {
      return key;
    }
    byte open = (byte) tag.charAt(0);
    byte close = (byte) tag.charAt(1);
    int start = indexOf(key, open, 0);
    if (start < 0) {
      return key;
    }
    int end = indexOf(key, close, start + 1);
    if (end < 0 || end == start + 1) {
      return key;
    }
    return Arrays.copyOfRange(key, start + 1, end);
  }

  private static int indexOf(byte[] key, byte b, int from) {
    for (int i = from; i < key.length; i++) {
      if (key[i] == b) {
        return i;
      }
    }
    return -1;
  }
}
