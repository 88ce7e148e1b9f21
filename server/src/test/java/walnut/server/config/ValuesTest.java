package walnut.server.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ValuesTest {

  @ParameterizedTest
  @CsvSource({"0, 0", "7, 7", "007, 7", "2147483647, 2147483647"})
  void digitsAreANumber(String text, int expected) {
    assertEquals(expected, Values.atoi(text));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "-1", "+1", " 1", "1 ", "1.0", "1e3", "10ms", "0x10",
      "2147483648", "4294967296", "99999999999999999999", "\u0661"})
  void anythingButDigitsWithinIntIsNotANumber(String text) {
    assertEquals(-1, Values.atoi(text));
  }

  @Test
  void onlyExactLowerCaseTrueAndFalseAreBooleans() throws BadValue {
    assertTrue(Values.bool("true"));
    assertFalse(Values.bool("false"));
    for (String text : new String[] {"True", "FALSE", "yes", "on", "1", "~"}) {
      assertThrows(BadValue.class, () -> Values.bool(text), text);
    }
  }

  @Test
  void aHashTagIsTwoBytes() throws BadValue {
    assertEquals("{}", Values.hashTag("{}"));
    assertEquals("$$", Values.hashTag("$$"));
    assertEquals("\u00c3\u00a9", Values.hashTag("\u00e9"));
    assertThrows(BadValue.class, () -> Values.hashTag("{"));
    assertThrows(BadValue.class, () -> Values.hashTag("{}{"));
    assertThrows(BadValue.class, () -> Values.hashTag("\u20ac")); // three bytes
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "0640 | 416", "777 | 511", "0 | 0", "+7 | 7", "-0 | 0", "'' | 0",
      // C strtol(.., 8) stops at the first non-octal digit: nutcracker -t accepts these as 0.
      "999 | 0", "x | 0", "0x1 | 0", "78 | 7"})
  void aPermissionIsReadAsCStrtolReadsOctal(String text, int expected) {
    assertEquals(expected, Values.octalPermission(text));
  }

  @ParameterizedTest
  @ValueSource(strings = {"01000", "1000", "-1", "-7", "77777777777777777777777"})
  void aNegativePermissionOrOneAbove0777IsRefused(String text) {
    assertEquals(-1, Values.octalPermission(text));
  }
}
