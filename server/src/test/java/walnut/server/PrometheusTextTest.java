package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The test parser is only worth its name if it refuses what Prometheus refuses. */
class PrometheusTextTest {

  @Test
  void readsFamiliesLabelsEscapesAndHistograms() {
    Map<String, PrometheusText.Family> f = PrometheusText.parse("""
        # HELP a_total A counter\\nwith a newline.
        # TYPE a_total counter
        a_total{pool="x",server="a\\"b\\\\c"} 3.0
        # TYPE h histogram
        h_bucket{le="0.5"} 1
        h_bucket{le="+Inf"} 2
        h_count 2
        h_sum 1.5
        """);
    assertEquals("counter", f.get("a_total").type());
    assertEquals("A counter\nwith a newline.", f.get("a_total").help());
    assertEquals(3.0, f.get("a_total").value("a_total", "pool", "x", "server", "a\"b\\c"));
    assertEquals(2, f.get("h").value("h_count"));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "a 1",                                         // no final newline
      "a{pool=x} 1\n",                               // unquoted label value
      "a{pool=\"x\\t\"} 1\n",                        // unknown escape
      "a{1pool=\"x\"} 1\n",                          // bad label name
      "a{pool=\"x\",pool=\"y\"} 1\n",                // label twice
      "a one\n",                                     // not a float
      "a 1 2 3\n",                                   // trailing junk
      "9a 1\n",                                      // bad metric name
      "a 1\n# TYPE a gauge\n",                       // TYPE after samples
      "# TYPE a gauge\n# TYPE a counter\na 1\n",     // TYPE twice
      "# TYPE a gaug\na 1\n",                        // unknown type
      "a{x=\"1\"} 1\nb 1\na{x=\"2\"} 1\n",           // family not contiguous
      "a{x=\"1\"} 1\na{x=\"1\"} 2\n",                // duplicate series
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 0\n",
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_count 1\nh_sum 0\n",
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_count 1\nh_sum 0\n",
      "# TYPE h histogram\nh_bucket 1\nh_count 1\nh_sum 0\n",
  })
  void refusesWhatPrometheusRefuses(String text) {
    assertThrows(RuntimeException.class, () -> PrometheusText.parse(text));
  }
}
