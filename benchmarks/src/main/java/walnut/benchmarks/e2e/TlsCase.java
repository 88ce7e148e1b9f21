package walnut.benchmarks.e2e;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a Redis case speaks TLS (issue #23), as the suffix of its name says: {@code GET P1} is
 * plain; {@code GET P1 TLS-client} is the same load over TLS from the load generator to the proxy
 * (a listener with {@code tls_cert_file}, plain backends); {@code GET P1 TLS-server} is plain to
 * the proxy and TLS from the proxy to its backends ({@code server_tls: true}); {@code GET P1
 * TLS-both} is TLS on both sides, and for {@code direct}, the load over TLS straight to one TLS
 * redis-server (the TLS ceiling). Only the RESP2 Redis cases have TLS variants.
 */
enum TlsCase {
  PLAIN(""),
  CLIENT(" TLS-client"),
  SERVER(" TLS-server"),
  BOTH(" TLS-both");

  /** The suffix after the workload, e.g. {@code " TLS-client"}; empty for {@link #PLAIN}. */
  final String suffix;

  TlsCase(String suffix) {
    this.suffix = suffix;
  }

  /** The TLS variants, in the order they follow their plain case. */
  static final List<TlsCase> VARIANTS = List.of(CLIENT, SERVER, BOTH);

  /** Where {@code testCase} speaks TLS, from its suffix. */
  static TlsCase of(String testCase) {
    for (TlsCase t : VARIANTS) {
      if (testCase.endsWith(t.suffix)) {
        return t;
      }
    }
    return PLAIN;
  }

  /** The case without its TLS suffix: the load, e.g. {@code GET P1}. */
  static String workload(String testCase) {
    TlsCase t = of(testCase);
    return testCase.substring(0, testCase.length() - t.suffix.length());
  }

  /** Whether a plain case has TLS variants: the Redis cases in RESP2. */
  static boolean hasVariants(String testCase) {
    return of(testCase) == PLAIN && !testCase.startsWith("mc ")
        && !testCase.endsWith(Load.RESP3);
  }

  /** The TLS variants of {@code plainCases} that have them, each case's after it. */
  static List<String> variantsOf(List<String> plainCases) {
    List<String> out = new ArrayList<>();
    for (String c : plainCases) {
      if (hasVariants(c)) {
        for (TlsCase t : VARIANTS) {
          out.add(c + t.suffix);
        }
      }
    }
    return out;
  }

  /** The load generator dials the proxy (or {@code direct}'s backend) over TLS. */
  boolean clientSide() {
    return this == CLIENT || this == BOTH;
  }

  /** The proxy dials its backends over TLS. */
  boolean serverSide() {
    return this == SERVER || this == BOTH;
  }

  /** The label of the TLS cost table: plain, client, server, both. */
  String label() {
    return this == PLAIN ? "plain" : suffix.substring(" TLS-".length());
  }
}
