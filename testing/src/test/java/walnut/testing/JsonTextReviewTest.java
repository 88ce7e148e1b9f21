package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Review (attacker): JsonText replaced CdpJson as Chromium's reader. CdpJson read an integer of
 * more than 18 digits as a Double; JsonText hands any digit run to Long.parseLong, which throws a
 * NumberFormatException (not the parser's own error) past Long.MAX_VALUE: a DevTools message with
 * such a number (a JS number from 1e19 up to 1e21 is written as plain digits) makes
 * Chromium.Listener.route throw, and the DevTools connection fails. And Character.isDigit lets
 * non-ASCII digits through, so the "strict" reader accepts what JSON does not.
 */
class JsonTextReviewTest {

  @Test
  void anIntegerBeyondALongIsStillANumber() {
    Map<?, ?> m = (Map<?, ?>) JsonText.parseValue(
        "{\"id\":7,\"result\":{\"value\":18446744073709552000}}");
    assertInstanceOf(Number.class, ((Map<?, ?>) m.get("result")).get("value"));
  }

  @Test
  void nonAsciiDigitsAreNotJson() {
    assertThrows(IllegalArgumentException.class,
        () -> JsonText.parse("{\"a\":\u0661\u0662}"), "ARABIC-INDIC digits are not JSON");
  }
}
