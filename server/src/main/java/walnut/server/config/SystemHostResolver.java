package walnut.server.config;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;

/**
 * Resolves the way twemproxy's {@code getaddrinfo} call does, as far as Java allows.
 *
 * <p>Java's {@link InetAddress#getByName} and glibc disagree on the edges, so those are settled
 * here first: glibc reads IPv4 numbers the BSD {@code inet_aton} way ({@code 127.1},
 * {@code 0x7f.0.0.1}, {@code 0177.0.0.1}, {@code 2130706433}), which recent JDKs refuse as
 * ambiguous; glibc does not understand {@code [::1]} or an empty host, which Java accepts. What is
 * left (names and IPv6 literals) goes to {@link InetAddress}, which asks the system resolver just
 * as twemproxy does.
 */
final class SystemHostResolver implements HostResolver {

  private static final BigInteger MAX_PART = BigInteger.valueOf(0xffffffffL);

  @Override
  public boolean resolves(String host) {
    if (host.isEmpty() || host.charAt(0) == '[') {
      return false;
    }
    if (isInetAton(host)) {
      return true;
    }
    if (host.chars().allMatch(c -> (c >= '0' && c <= '9') || c == '.')) {
      // Numeric but not an address (256.1.1.1, 09, 1.2.3.4.5): glibc asks DNS, which finds
      // nothing; Java would instead read some of these as addresses.
      return false;
    }
    try {
      if (host.indexOf(':') >= 0) {
        return isIpv6Literal(host);
      }
      InetAddress.getByName(host);
      return true;
    } catch (UnknownHostException | SocketException | IllegalArgumentException
        | SecurityException e) {
      return false;
    }
  }

  /**
   * An IPv6 literal with an optional {@code %zone}, accepted as glibc accepts it: a zone may
   * name an interface only for link-local (and node- or link-local multicast) addresses, and
   * may always be a decimal interface index. Java instead insists that the interface carries
   * an address of that scope, so the zone is checked here and the address alone given to Java.
   */
  private static boolean isIpv6Literal(String host) throws UnknownHostException, SocketException {
    int percent = host.indexOf('%');
    String literal = percent < 0 ? host : host.substring(0, percent);
    if (literal.isEmpty()
        || (literal.charAt(0) != ':' && Character.digit(literal.charAt(0), 16) < 0)) {
      return false; // not a literal: glibc would ask DNS for it, which finds no such name
    }
    InetAddress address = InetAddress.getByName(literal); // a literal: no DNS
    if (percent < 0) {
      return true;
    }
    String zone = host.substring(percent + 1);
    if (address.isLinkLocalAddress() || address.isMCLinkLocal() || address.isMCNodeLocal()) {
      if (!zone.isEmpty() && NetworkInterface.getByName(zone) != null) {
        return true;
      }
    }
    return !zone.isEmpty() && zone.chars().allMatch(c -> c >= '0' && c <= '9')
        && new BigInteger(zone).compareTo(MAX_PART) <= 0;
  }

  /**
   * glibc's {@code inet_aton_exact}: one to four dot-separated C integers (decimal, {@code 0}
   * octal or {@code 0x} hex), all but the last at most 255, the last filling the bytes left.
   */
  static boolean isInetAton(String host) {
    String[] parts = host.split("\\.", -1);
    if (parts.length > 4) {
      return false;
    }
    long[] values = new long[parts.length];
    for (int i = 0; i < parts.length; i++) {
      BigInteger value = cInteger(parts[i]);
      if (value == null || value.compareTo(MAX_PART) > 0) {
        return false;
      }
      values[i] = value.longValue();
    }
    for (int i = 0; i < values.length - 1; i++) {
      if (values[i] > 0xff) {
        return false;
      }
    }
    long last = values[values.length - 1];
    return last <= 0xffffffffL >>> (8 * (values.length - 1));
  }

  /** A C {@code strtoul(s, &end, 0)} that must consume all of {@code s}; null otherwise. */
  private static BigInteger cInteger(String s) {
    if (s.isEmpty() || s.charAt(0) < '0' || s.charAt(0) > '9') {
      return null;
    }
    String digits;
    int radix;
    if (s.length() > 2 && s.charAt(0) == '0' && (s.charAt(1) == 'x' || s.charAt(1) == 'X')) {
      digits = s.substring(2);
      radix = 16;
    } else if (s.charAt(0) == '0') {
      digits = s;
      radix = 8;
    } else {
      digits = s;
      radix = 10;
    }
    for (int i = 0; i < digits.length(); i++) {
      if (Character.digit(digits.charAt(i), radix) < 0 || digits.charAt(i) > 'f') {
        return null;
      }
    }
    return new BigInteger(digits, radix);
  }
}
