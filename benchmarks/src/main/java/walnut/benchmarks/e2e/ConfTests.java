package walnut.benchmarks.e2e;

import static walnut.benchmarks.e2e.Console.say;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Times each proxy's configuration test, the start-up cost an operator pays on every
 * {@code -t} (and, for a JVM, a floor of every start): {@link Target#confTest}, on the
 * configuration the proxy runs with, {@link #RUNS} times in a row; the median wall time, from the
 * harness's start of the process to its exit, becomes {@link Target#confTestSeconds}. The test
 * inherits the harness's environment, as the proxy did ({@code WALNUT_JAVA_OPTS} among it), so
 * Walnut's JVM starts with the same options as the measured proxy's. A test that does not exit 0
 * fails the run: the configuration is the one the proxy already serves. Proxies without a
 * {@code confTest} ({@code --proxy} candidates, whose command lines the harness does not know)
 * are skipped. The commands and their output go to {@code conf-test.log} in the working
 * directory.
 */
final class ConfTests {

  static final int RUNS = 5;

  private static final Duration LIMIT = Duration.ofSeconds(60);

  private ConfTests() {}

  static void measure(List<Target> proxies, Path work) {
    if (proxies.stream().noneMatch(t -> t.confTest != null)) {
      return;
    }
    say("== configuration tests (-t), " + RUNS + " runs each");
    Path scratch = work.resolve("tool-output.txt");
    Path log = work.resolve("conf-test.log");
    for (Target t : proxies) {
      if (t.confTest == null) {
        continue;
      }
      double[] seconds = new double[RUNS];
      for (int i = 0; i < RUNS; i++) {
        long start = System.nanoTime();
        Tools.Result r = Tools.run(t.confTest, LIMIT, scratch, log);
        seconds[i] = (System.nanoTime() - start) / 1e9;
        if (!r.ok()) {
          throw new Failure(t.name + "'s configuration test `" + String.join(" ", t.confTest)
              + "` " + (r.timedOut() ? "was killed after " + LIMIT.toSeconds() + " s"
              : "exited with status " + r.status()) + ": " + Proxies.lastLine(r.output())
              + "; see " + log);
        }
      }
      t.confTestSeconds = median(seconds);
      say(String.format(Locale.ROOT, "   %-18s -t %.3f s (median; runs: %s)", t.name,
          t.confTestSeconds, Arrays.stream(seconds)
              .mapToObj(s -> String.format(Locale.ROOT, "%.3f", s)).toList()));
    }
  }

  static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    int mid = v.length / 2;
    return v.length % 2 == 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  }
}
