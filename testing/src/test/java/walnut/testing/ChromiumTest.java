package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The browser driver against a page served from this JVM: load, evaluate, emulate a phone, take
 * a screenshot, and leave no process behind. Fails (not skips) without chromium installed.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ChromiumTest {

  private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  private static final String PAGE = """
      <!DOCTYPE html><html><head><meta name="viewport" content="width=device-width">
      <title>t</title></head><body style="margin:0"><div id="tall" style="height:3000px">
      caf\u00e9 "quoted"</div><script>document.body.dataset.ran = "yes";</script></body></html>
      """;

  @TempDir
  Path tmp;

  @Test
  void opensAPageEvaluatesScriptEmulatesAPhoneAndShootsTheWholePage() throws Exception {
    assertTrue(Chromium.available(), "install Debian's chromium: apt-get install chromium");
    HttpServer server = HttpServer.create(
        new InetSocketAddress("127.0.0.1", FreePorts.next()), 0);
    server.createContext("/", exchange -> {
      byte[] body = PAGE.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    List<ProcessHandle> tree;
    try (Chromium chromium = Chromium.start(tmp)) {
      chromium.open("http://127.0.0.1:" + server.getAddress().getPort() + "/");
      assertEquals("yes", chromium.eval("document.body.dataset.ran"));
      assertEquals("caf\u00e9 \"quoted\"", chromium.eval("document.getElementById('tall')"
          + ".textContent.trim()"));
      assertEquals("3", chromium.eval("1 + 2"));
      assertEquals("[\"a\",{\"b\":true}]", chromium.eval("['a', {b: true}]"));
      assertEquals("null", chromium.eval("null"));
      assertNull(chromium.eval("undefined"));
      assertEquals("42", chromium.eval("new Promise(r => r(42))"));
      IllegalStateException thrown =
          assertThrows(IllegalStateException.class, () -> chromium.eval("no.such.thing"));
      assertTrue(thrown.getMessage().contains("no is not defined"), thrown.getMessage());

      chromium.viewport(390, 844, true);
      assertEquals("390", chromium.eval("window.innerWidth"));
      assertEquals("2", chromium.eval("window.devicePixelRatio"));
      byte[] phone = chromium.screenshot();
      assertArrayEquals(PNG, Arrays.copyOf(phone, 8));
      // The whole page, not the viewport: 3000 CSS pixels tall at scale 2.
      assertEquals(390 * 2, pngInt(phone, 16));
      assertEquals(3000 * 2, pngInt(phone, 20));

      assertThrows(IllegalStateException.class,
          () -> chromium.open("http://127.0.0.1:" + FreePorts.next() + "/"));
      tree = new java.util.ArrayList<>(ProcessHandle.of(chromium.pid()).orElseThrow()
          .descendants().toList());
      tree.add(ProcessHandle.of(chromium.pid()).orElseThrow());
      assertTrue(tree.size() > 1, "chromium runs helper processes: " + tree);
    } finally {
      server.stop(0);
    }
    for (ProcessHandle p : tree) {
      assertFalse(p.isAlive(), "pid " + p.pid() + " outlived close()");
    }
  }

  /** The big-endian int at {@code offset}: a PNG's IHDR width at 16, height at 20. */
  private static int pngInt(byte[] png, int offset) {
    return (png[offset] & 0xff) << 24 | (png[offset + 1] & 0xff) << 16
        | (png[offset + 2] & 0xff) << 8 | png[offset + 3] & 0xff;
  }
}
