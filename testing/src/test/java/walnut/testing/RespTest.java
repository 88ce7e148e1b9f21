package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class RespTest {
  private static InputStream wire(String text) {
    return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void commandIsAnArrayOfBulkStrings() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Resp.writeCommand(out, "SET", "k\u00e9", "");
    assertEquals(
        "*3\r\n$3\r\nSET\r\n$3\r\nk\u00e9\r\n$0\r\n\r\n", out.toString(StandardCharsets.UTF_8));
  }

  @Test
  void repliesParseIntoPlainValues() throws IOException {
    InputStream in =
        wire(
            "+OK\r\n"
                + "-ERR no\r\n"
                + ":42\r\n"
                + "$5\r\n"
                + "a\r\n"
                + "bc\r\n"
                + "$-1\r\n"
                + "*-1\r\n"
                + "*3\r\n"
                + ":1\r\n"
                + "*1\r\n"
                + "$0\r\n\r\n"
                + "$-1\r\n");
    assertEquals("OK", Resp.readReply(in));
    assertEquals(new RedisServer.ErrorReply("ERR no"), Resp.readReply(in));
    assertEquals(42L, Resp.readReply(in));
    assertEquals("a\r\nbc", Resp.readReply(in));
    assertNull(Resp.readReply(in));
    assertNull(Resp.readReply(in));
    assertEquals(Arrays.asList(1L, List.of(""), null), Resp.readReply(in));
  }

  @Test
  void truncatedReplyIsAnEofNotAHang() {
    assertThrows(EOFException.class, () -> Resp.readReply(wire("$5\r\nab")));
    assertThrows(EOFException.class, () -> Resp.readReply(wire("+OK")));
  }
}
