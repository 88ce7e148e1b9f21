package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import walnut.testing.FreePorts;
import walnut.testing.JsonText;
import walnut.testing.SingleTransport;

/**
 * Review (attacker): {@code curl 'http://host:port/locate?pool=alpha&key=clé'} sends the key's
 * UTF-8 bytes unencoded in the request line (curl encodes nothing). The JDK's HTTP server reads
 * the request line byte by byte as ISO-8859-1, so the raw query holds 'Ã' '©' for the bytes C3 A9;
 * StatusPage.percentDecode then writes each such character's UTF-8 encoding ("a character sent
 * unencoded: its UTF-8 bytes"), so the key located is C3 83 C2 A9 ("clÃ©"), not the key the client
 * sent ("clé", C3 A9). The answer's "key" field shows it.
 */
@SingleTransport
class LocateUnencodedKeyIT {

  @TempDir
  Path dir;

  private OpsFixture walnut;

  @AfterEach
  void stop() {
    if (walnut != null) {
      walnut.close();
    }
  }

  @Test
  void aKeySentUnencodedIsLocatedAsTheBytesTheClientSent() throws Exception {
    Path conf = Files.writeString(dir.resolve("locate.yml"), """
        alpha:
          listen: 127.0.0.1:%d
          redis: true
          distribution: ketama
          servers:
           - 127.0.0.1:%d:1 s1
           - 127.0.0.1:%d:1 s2
           - 127.0.0.1:%d:1 s3
        """.formatted(FreePorts.next(), FreePorts.next(), FreePorts.next(), FreePorts.next()));
    walnut = OpsFixture.startWith(conf, 1);

    Map<String, Object> encoded = JsonText.parseFull(get("/locate?pool=alpha&key=cl%C3%A9"));
    assertEquals("clé", encoded.get("key"), "percent-encoded: the key's bytes");

    ByteArrayOutputStream line = new ByteArrayOutputStream();
    line.writeBytes("/locate?pool=alpha&key=".getBytes(StandardCharsets.US_ASCII));
    line.writeBytes("clé".getBytes(StandardCharsets.UTF_8)); // as curl sends it
    Map<String, Object> raw = JsonText.parseFull(get(line.toByteArray()));
    assertEquals("clé", raw.get("key"), "sent unencoded: the same bytes, the same key");
    assertEquals(encoded.get("server"), raw.get("server"));
  }

  private String get(String pathAndQuery) throws Exception {
    return get(pathAndQuery.getBytes(StandardCharsets.US_ASCII));
  }

  /** A GET with the request target's bytes as given, over a plain socket. */
  private String get(byte[] target) throws Exception {
    try (Socket s = new Socket("127.0.0.1", walnut.metricsPort())) {
      s.setSoTimeout(10_000);
      OutputStream out = s.getOutputStream();
      out.write("GET ".getBytes(StandardCharsets.US_ASCII));
      out.write(target);
      out.write(" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
          .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = s.getInputStream();
      String response = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(response.startsWith("HTTP/1.1 200"), response);
      return response.substring(response.indexOf("\r\n\r\n") + 4);
    }
  }
}
