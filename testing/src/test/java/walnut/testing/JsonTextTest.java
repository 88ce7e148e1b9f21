package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link JsonText#parseValue} (what {@link Chromium} reads) and {@link CdpJson} (what it writes):
 * integers stay whole numbers (CDP matches replies to requests by id), escapes, round trips, and
 * malformed text failing with its offset.
 */
class JsonTextTest {

  @Test
  void integersReadAsLongsAndFractionsAsDoubles() {
    Map<?, ?> m = (Map<?, ?>) JsonText.parseValue("{\"id\":1,\"big\":-9007199254740993,\"f\":1.5,"
        + "\"e\":2e3}");
    // A reply's id must match the Long key its call was filed under.
    assertEquals(1L, assertInstanceOf(Long.class, m.get("id")));
    assertEquals(-9007199254740993L, m.get("big"));
    assertEquals(1.5, assertInstanceOf(Double.class, m.get("f")));
    assertEquals(2000.0, m.get("e"));
  }

  @Test
  void stringsNestingAndLiteralsRoundTrip() {
    String text = "{\"s\":\"a\\\"b\\\\c\\n\\u00e9\\u0001\",\"l\":[true,false,null,[],{}]}";
    Map<?, ?> m = (Map<?, ?>) JsonText.parseValue(" " + text + "\n");
    assertEquals("a\"b\\c\n\u00e9\u0001", m.get("s"));
    List<?> l = (List<?>) m.get("l");
    assertEquals(List.of(true, false), l.subList(0, 2));
    assertNull(l.get(2));
    assertEquals("{\"s\":\"a\\\"b\\\\c\\n\u00e9\\u0001\",\"l\":[true,false,null,[],{}]}",
        CdpJson.write(m));
  }

  @Test
  void writesWholeDoublesAsIntegersAsJavaScriptDoes() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("w", 390.0);
    m.put("h", 0.5);
    m.put("n", 3);
    assertEquals("{\"w\":390,\"h\":0.5,\"n\":3}", CdpJson.write(m));
  }

  @Test
  void malformedTextFailsWithItsOffset() {
    for (String bad : List.of("{\"a\":1,}", "[1 2]", "{\"a\" 1}", "tru", "\"open", "{} x", "")) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> JsonText.parseValue(bad), bad);
      assertTrue(e.getMessage().contains(" at offset "), e.getMessage());
    }
  }
}
