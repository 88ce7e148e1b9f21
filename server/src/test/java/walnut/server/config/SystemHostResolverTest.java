package walnut.server.config;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The resolver's verdicts, cross-checked with {@code nutcracker -t} on {@code listen: HOST:1}.
 * Only literals and {@code localhost} are used, so no test depends on DNS.
 */
class SystemHostResolverTest {

  private final SystemHostResolver resolver = new SystemHostResolver();

  @ParameterizedTest
  @ValueSource(strings = {"127.0.0.1", "0.0.0.0", "localhost", "LOCALHOST", "127.1",
      "0x7f.0.0.1", "0x7F.1", "0177.0.0.1", "2130706433", "4294967295", "0", "::1", "::",
      "::ffff:127.0.0.1", "1.2.3.0x4", "fe80::1%lo", "fe80::1%1", "::1%1"})
  void hostsThatTwemproxyResolvesResolve(String host) {
    assertTrue(resolver.resolves(host), host);
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "[::1]", "256.1.1.1", "1.2.3.4.5", "4294967296", "09",
      "127.0.0.08", "1..2", "1.2.3.", "1::2::3", " 127.0.0.1", "127.0.0.1 ", "::1%lo",
      "fe80::1%no-such-if", "fe80::1%", "fe80::1%4294967296"})
  void hostsThatTwemproxyCannotResolveDoNot(String host) {
    assertFalse(resolver.resolves(host), host);
  }

  @ParameterizedTest
  @ValueSource(strings = {"1.2.3.4", "1.2.65535", "1.16777215", "0x0.0.0.0", "00.00.00.00"})
  void inetAtonAcceptsOneToFourParts(String host) {
    assertTrue(SystemHostResolver.isInetAton(host), host);
  }

  @ParameterizedTest
  @ValueSource(strings = {"1.2.65536", "1.16777216", "256.0.0.1", "0x", "08", "+1", "a.b.c.d",
      "1.2.3.4.5", ""})
  void inetAtonRefusesOutOfRangePartsAndNonNumbers(String host) {
    assertFalse(SystemHostResolver.isInetAton(host), host);
  }
}
