package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import walnut.testing.SingleTransport;

/**
 * {@code walnut --locate POOL KEY} with a key argument that is not UTF-8 (a binary key typed as
 * {@code $'k\x80'}) under a UTF-8 locale: the JVM decodes the argument to U+FFFD and the check of
 * d3899f4 only looks when the locale is not UTF-8, so the key is placed as EF BF BD. It must be
 * placed as its bytes (what '-' on standard input prints) or refused.
 */
@SingleTransport
class LocateBinaryArgumentIT {

  @Test
  void aNonUtf8ArgumentInAUtf8LocaleIsPlacedByItsBytesOrRefused(@TempDir Path dir)
      throws Exception {
    Path conf = Files.writeString(dir.resolve("c.yml"), """
        alpha:
          listen: 127.0.0.1:22121
          redis: true
          hash: fnv1a_64
          distribution: ketama
          servers:
           - 127.0.0.1:7001:1 s1
           - 127.0.0.1:7002:1 s2
           - 127.0.0.1:7003:1 s3
        """);
    Path root = Path.of(System.getProperty("walnut.root", "..")).toAbsolutePath().normalize();
    String walnut = root.resolve("bin/walnut").toString();

    Path in = Files.write(dir.resolve("in"), new byte[] {'k', (byte) 0x80, '\n'});
    Process fromStdin = new ProcessBuilder(walnut, "-c", conf.toString(), "--locate", "alpha",
        "-").redirectInput(in.toFile()).start();
    assertTrue(fromStdin.waitFor(60, TimeUnit.SECONDS));
    String stdinOut = new String(fromStdin.getInputStream().readAllBytes(),
        StandardCharsets.ISO_8859_1);
    assertEquals(0, fromStdin.exitValue(), stdinOut);
    String byBytes = stdinOut.split("\t", 2)[1];

    // The shell hands the JVM the byte 0x80 itself, as a terminal would.
    ProcessBuilder b = new ProcessBuilder("/bin/sh", "-c",
        "exec \"$0\" -c \"$1\" --locate alpha \"$(printf 'k\\200')\"", walnut, conf.toString())
        .redirectErrorStream(false);
    b.environment().put("LC_ALL", "C.UTF-8");
    Process p = b.start();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.exitValue() != 0) {
      assertTrue(err.contains("'-'"), "refused, pointing to standard input: " + err);
      return;
    }
    List<String> fields = List.of(out.split("\t", 2));
    assertEquals("k\u0080", fields.get(0), "the key's bytes as given (ISO-8859-1 view): " + out);
    assertEquals(byBytes, fields.get(1), "the server the bytes k\\x80 go to");
  }
}
