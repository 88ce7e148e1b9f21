package walnut.hashing;

import io.netty.buffer.Unpooled;
import jakarta.inject.Inject;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Continuum;
import walnut.core.spi.Distribution;
import walnut.core.spi.HashFunction;

/**
 * twemproxy's consistent-hash ring, {@code ketama} (docs/compatibility.md#ketama).
 *
 * <p>Implementation note. twemproxy gives each live server {@code floor(w/W * 160/4 * n) * 4}
 * points, computed in C {@code float}; hashes the strings {@code <name>-0}, {@code <name>-1}, …
 * with MD5 and takes four little-endian words of each digest as points; sorts all points by
 * unsigned value with glibc's (stable) {@code qsort}; and routes a hash to the first point at or
 * above it, wrapping to the first point. This class reproduces each of those steps literally,
 * because each is visible in placement:
 *
 * <ul>
 *   <li>the point count is evaluated in {@code float} exactly as the C expression is: in double
 *       or exact arithmetic some weight lists (72/362/406) and even equal weights for some pool
 *       sizes (25 servers get 156 points, not 160) come out differently, and a server can get
 *       zero points;
 *   <li>ties are broken by insertion order (servers in list order, then string index, then word),
 *       by sorting {@code long}s whose high half is the value (offset so that signed order is
 *       unsigned order) and whose low half is the insertion index;
 *   <li>the point values are always MD5, whatever the pool's {@code hash:} is; that hash only
 *       turns keys into positions on the ring.
 * </ul>
 *
 * <p>The ring is two parallel {@code int} arrays, so a lookup is a branch-light binary search
 * that allocates nothing.
 */
public final class KetamaDistribution implements Distribution {

  static final int POINTS_PER_SERVER = 160;
  static final int POINTS_PER_HASH = 4;
  /**
   * twemproxy 0.5.0 formats the point string into a 273-byte buffer with {@code snprintf}, which
   * keeps at most 272 bytes. (It then hashes {@code snprintf}'s untruncated length, reading past
   * the buffer, so names that long cannot be matched anyway; truncating is the defined part.)
   */
  static final int MAX_POINT_STRING = 272;

  @Inject
  public KetamaDistribution() {}

  @Override
  public String name() {
    return "ketama";
  }

  /** Builds the ring for {@code servers}; {@code hash} is not used, points are always MD5. */
  @Override
  public Continuum build(List<ServerConfig> servers, HashFunction hash) {
    if (servers.isEmpty()) {
      throw new IllegalArgumentException("ketama: no live servers (expected: at least one)");
    }
    int n = servers.size();
    long totalWeight = 0;
    for (ServerConfig server : servers) {
      totalWeight += server.weight();
    }
    int[] points = new int[n];
    int totalPoints = 0;
    for (int s = 0; s < n; s++) {
      points[s] = pointsFor(servers.get(s).weight(), totalWeight, n);
      totalPoints += points[s];
    }
    if (totalPoints == 0) {
      // Cannot happen for n >= 1 (the heaviest server has w/W >= 1/n), kept as a guard.
      throw new IllegalStateException("ketama: no points for servers " + servers);
    }

    long[] keyed = new long[totalPoints];
    int[] ownerByInsertion = new int[totalPoints];
    int[] digest = new int[4];
    int inserted = 0;
    for (int s = 0; s < n; s++) {
      byte[] name = servers.get(s).name().getBytes(StandardCharsets.UTF_8);
      for (int i = 0; i < points[s] / POINTS_PER_HASH; i++) {
        byte[] point = pointString(name, i);
        Md5.digest(Unpooled.wrappedBuffer(point), 0, point.length, digest);
        for (int word : digest) {
          keyed[inserted] = ((long) (word ^ Integer.MIN_VALUE) << 32) | inserted;
          ownerByInsertion[inserted] = s;
          inserted++;
        }
      }
    }
    Arrays.sort(keyed);

    int[] values = new int[totalPoints];
    int[] owners = new int[totalPoints];
    for (int r = 0; r < totalPoints; r++) {
      values[r] = (int) (keyed[r] >>> 32) ^ Integer.MIN_VALUE;
      owners[r] = ownerByInsertion[(int) keyed[r]];
    }
    return new KetamaContinuum(values, owners);
  }

  /**
   * Points for a server of {@code weight} among {@code liveServers} servers weighing
   * {@code totalWeight} together, in twemproxy's float arithmetic:
   * {@code floorf((float) (pct * 160 / 4 * (float) n + 0.0000000001)) * 4}. The epsilon is added
   * in double and lost again when the sum is rounded back to float.
   */
  static int pointsFor(int weight, long totalWeight, int liveServers) {
    float pct = (float) weight / (float) totalWeight;
    float x = pct * POINTS_PER_SERVER / POINTS_PER_HASH * (float) liveServers;
    float y = (float) ((double) x + 0.0000000001);
    return (int) Math.floor(y) * POINTS_PER_HASH;
  }

  /** {@code <name>-<index>}, as {@code snprintf("%.*s-%u")} into twemproxy's buffer writes it. */
  static byte[] pointString(byte[] name, int index) {
    byte[] suffix = ("-" + index).getBytes(StandardCharsets.US_ASCII);
    byte[] point = Arrays.copyOf(name, Math.min(name.length + suffix.length, MAX_POINT_STRING));
    if (name.length < point.length) {
      System.arraycopy(suffix, 0, point, name.length, point.length - name.length);
    }
    return point;
  }
}
