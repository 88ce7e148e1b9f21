package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FreePortsTest {
  @Test
  void portsAreDistinctAndBindableOnLoopback() throws IOException {
    Set<Integer> ports = new HashSet<>();
    for (int i = 0; i < 20; i++) {
      int port = FreePorts.next();
      assertTrue(ports.add(port), "handed out twice: " + port);
      try (ServerSocket socket = new ServerSocket()) {
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        assertEquals(port, socket.getLocalPort());
      }
    }
  }

  @Test
  void portsStayOutOfTheEphemeralRange() throws IOException {
    Path range = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
    if (!Files.isReadable(range)) {
      return; // not Linux: nothing to compare with
    }
    String[] bounds = UnixProcesses.readProcFile(range).split("\\s+");
    int low = Integer.parseInt(bounds[0]);
    int high = Integer.parseInt(bounds[1]);
    int port = FreePorts.next();
    assertTrue(port < low || port > high, port + " is in the ephemeral range " + low + "-" + high);
  }
}
