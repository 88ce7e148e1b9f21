package walnut.benchmarks.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ProcFsTest {

  @Test
  void processTicksCountFromTheLastParenthesis() {
    // A command name with spaces and a parenthesis must not shift utime (14th) and stime (15th).
    String stat = "4242 (java (main) x) S 1 4242 1 0 -1 4194560 5000 0 0 0 1234 567 0 0 20 0 30"
        + " 0 327743 3133440 413 18446744073709551615";
    assertEquals(1234 + 567, ProcFs.processTicks(stat));
  }

  @Test
  void machineTicksAreTheBusyColumnsOfTheCpuLine() {
    String stat = "cpu  364125 3708 54067 211022 1395 10 17156 115 0 0\n"
        + "cpu0 182062 1854 27033 105511 697 5 8578 57 0 0\nintr 1 2 3\n";
    // user + nice + system + irq + softirq; idle, iowait and steal are not busy.
    assertEquals(364125 + 3708 + 54067 + 10 + 17156, ProcFs.machineTicks(stat));
  }

  @Test
  void residentMemoryIsVmRss() {
    String status = "Name:\tjava\nVmPeak:\t 3690336 kB\nVmHWM:\t   95004 kB\n"
        + "VmRSS:\t   91052 kB\nRssAnon:\t   70000 kB\n";
    assertEquals(91052, ProcFs.rssKib(status));
    assertThrows(IllegalArgumentException.class, () -> ProcFs.rssKib("Name:\tkthreadd\n"));
  }

  @Test
  void theSoftLimitOnOpenFiles() {
    String limits = "Limit                     Soft Limit           Hard Limit           Units\n"
        + "Max processes             95704                95704                processes \n"
        + "Max open files            20000                1048576              files     \n";
    assertEquals(20000, ProcFs.openFileLimit(limits));
    assertEquals(Long.MAX_VALUE, ProcFs.openFileLimit(
        "Max open files            unlimited            unlimited            files\n"));
  }

  @Test
  void aSocketsInodeIsInItsFdLink() {
    assertEquals(5140552, ProcFs.socketInode("socket:[5140552]"));
    assertEquals(-1, ProcFs.socketInode("pipe:[5140553]"));
    assertEquals(-1, ProcFs.socketInode("anon_inode:[eventpoll]"));
    assertEquals(-1, ProcFs.socketInode("/dev/null"));
  }

  @Test
  void tcpSocketsArePortsAndInodes() {
    String tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
        + "   uid  timeout inode                                                     \n"
        + "   0: 0100007F:1C21 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0"
        + "        0 5140552 1 000000002b27deab 100 0 0 10 0                   \n"
        + "   1: 0100007F:1C21 0100007F:D5A2 01 00000000:00000000 00:00000000 00000000  1000"
        + "        0 5140600 1 0000000000000000 20 4 30 10 -1                  \n"
        + "   2: 0100007F:D5A4 0100007F:1C21 06 00000000:00000000 03:00000A4F 00000000     0"
        + "        0 0 3 0000000000000000                                      \n";
    assertEquals(List.of(new ProcFs.TcpSocket(0x1C21, 0, 5140552),
            new ProcFs.TcpSocket(0x1C21, 0xD5A2, 5140600),
            new ProcFs.TcpSocket(0xD5A4, 0x1C21, 0)), // TIME_WAIT: no process holds it
        ProcFs.tcpSockets(tcp));
    // IPv6 addresses are 32 hex digits; an IPv4 client of a proxy on [::] has a mapped one.
    String tcp6 = "  sl  local_address                         remote_address"
        + "                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        + "   0: 0000000000000000FFFF00000100007F:1C21 0000000000000000FFFF00000100007F:D5A6 01"
        + " 00000000:00000000 00:00000000 00000000  1000        0 5140700 1 0000000000000000 20"
        + " 4 30 10 -1\n";
    assertEquals(List.of(new ProcFs.TcpSocket(0x1C21, 0xD5A6, 5140700)),
        ProcFs.tcpSockets(tcp6));
  }

  @Test
  void findsTheAcceptedEndOfAConnectionAmongTheSocketsOfThisProcess() throws IOException {
    long pid = ProcessHandle.current().pid();
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Socket client = new Socket()) {
      client.connect(new InetSocketAddress(server.getInetAddress(), server.getLocalPort()));
      try (Socket accepted = server.accept()) {
        Set<Long> inodes = ProcFs.socketInodes(pid);
        long found = ProcFs.tcpSockets(pid).stream()
            .filter(s -> s.localPort() == accepted.getLocalPort()
                && s.remotePort() == client.getLocalPort() && inodes.contains(s.inode()))
            .count();
        assertEquals(1, found);
      }
    }
  }

  @Test
  void readsThisProcessFromProc() throws IOException {
    long pid = ProcessHandle.current().pid();
    assertTrue(ProcFs.rssKib(pid) > 1024, "a JVM holds more than a MiB");
    assertTrue(ProcFs.openFiles(pid) > 3);
    assertTrue(ProcFs.processTicks(pid) >= 0);
    assertTrue(ProcFs.machineTicks() > 0);
    assertTrue(ProcFs.openFileLimit() > 0);
  }
}
