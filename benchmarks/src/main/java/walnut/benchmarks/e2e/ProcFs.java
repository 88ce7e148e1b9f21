package walnut.benchmarks.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * What the end-to-end run reads from Linux's /proc: CPU time of a process and of the machine,
 * a process's resident memory, open files and TCP sockets, and this process's limit on open
 * files. Each reader has a parser of the file's text beside it, for the tests.
 */
final class ProcFs {

  /**
   * One line of /proc/net/tcp or tcp6: the local and remote ports, and the inode of the socket
   * (0 for one no process holds: not yet accepted, or closed and in TIME_WAIT, say).
   */
  record TcpSocket(int localPort, int remotePort, long inode) {}

  private ProcFs() {}

  /** User plus system CPU time of process {@code pid}, every thread, in clock ticks. */
  static long processTicks(long pid) throws IOException {
    return processTicks(read(Path.of("/proc", Long.toString(pid), "stat")));
  }

  /** Busy CPU time of the machine (user, nice, system, irq, softirq of every CPU), in ticks. */
  static long machineTicks() throws IOException {
    return machineTicks(read(Path.of("/proc/stat")));
  }

  /** The resident set size of process {@code pid} (VmRSS), in KiB. */
  static long rssKib(long pid) throws IOException {
    return rssKib(read(Path.of("/proc", Long.toString(pid), "status")));
  }

  /** How many file descriptors process {@code pid} holds (its sockets among them). */
  static int openFiles(long pid) throws IOException {
    try (Stream<Path> fds = Files.list(fdDir(pid))) {
      return (int) fds.count();
    }
  }

  /**
   * The inodes of the sockets process {@code pid} holds, read from its /proc/&lt;pid&gt;/fd links
   * ({@code socket:[INODE]}); a descriptor closed while they are read is left out.
   */
  static Set<Long> socketInodes(long pid) throws IOException {
    Set<Long> inodes = new HashSet<>();
    try (DirectoryStream<Path> fds = Files.newDirectoryStream(fdDir(pid))) {
      for (Path fd : fds) {
        try {
          long inode = socketInode(Files.readSymbolicLink(fd).toString());
          if (inode >= 0) {
            inodes.add(inode);
          }
        } catch (NoSuchFileException closedMeanwhile) {
          // the process closed it between the listing and the link: it holds it no more
        }
      }
    }
    return inodes;
  }

  /**
   * The TCP sockets of process {@code pid}'s network namespace, IPv4 and IPv6 (an IPv4 client of
   * a proxy listening on {@code [::]} is there, with a mapped address).
   */
  static List<TcpSocket> tcpSockets(long pid) throws IOException {
    Path net = Path.of("/proc", Long.toString(pid), "net");
    List<TcpSocket> sockets = new ArrayList<>(tcpSockets(read(net.resolve("tcp"))));
    if (Files.exists(net.resolve("tcp6"))) { // absent when the kernel has no IPv6
      sockets.addAll(tcpSockets(read(net.resolve("tcp6"))));
    }
    return sockets;
  }

  /** This process's soft limit on open files, or {@link Long#MAX_VALUE} if unlimited. */
  static long openFileLimit() throws IOException {
    return openFileLimit(read(Path.of("/proc/self/limits")));
  }

  static long processTicks(String stat) {
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so count from the last
    // ')'. utime and stime are fields 14 and 15 of the line, 12th and 13th after the comm.
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).trim().split("\\s+");
    return Long.parseLong(f[11]) + Long.parseLong(f[12]);
  }

  static long machineTicks(String procStat) {
    for (String line : procStat.split("\n")) {
      if (line.startsWith("cpu ")) {
        String[] f = line.trim().split("\\s+"); // cpu user nice system idle iowait irq softirq …
        return Long.parseLong(f[1]) + Long.parseLong(f[2]) + Long.parseLong(f[3])
            + Long.parseLong(f[6]) + Long.parseLong(f[7]);
      }
    }
    throw new IllegalArgumentException("no 'cpu ' line in /proc/stat");
  }

  static long rssKib(String status) {
    for (String line : status.split("\n")) {
      if (line.startsWith("VmRSS:")) { // "VmRSS:	   91052 kB"
        return Long.parseLong(line.substring(6).trim().split("\\s+")[0]);
      }
    }
    throw new IllegalArgumentException("no VmRSS line (a kernel thread, or a zombie)");
  }

  /** The inode of a /proc/&lt;pid&gt;/fd link, {@code socket:[5140552]}; -1 if not a socket. */
  static long socketInode(String link) {
    if (!link.startsWith("socket:[") || !link.endsWith("]")) {
      return -1; // a file, a pipe, an epoll or an eventfd
    }
    return Long.parseLong(link.substring("socket:[".length(), link.length() - 1));
  }

  static List<TcpSocket> tcpSockets(String table) {
    // A heading, then a line a socket: "0: 0100007F:1C21 0100007F:D5A2 01 00000000:00000000
    // 00:00000000 00000000 1000 0 5140552 …", that is sl, local_address, rem_address, st, queues,
    // timer, retrnsmt, uid, timeout, inode. Addresses are hex IP:PORT, the port a plain number
    // (not in network order).
    List<TcpSocket> sockets = new ArrayList<>();
    String[] lines = table.split("\n");
    for (int i = 1; i < lines.length; i++) {
      String[] f = lines[i].trim().split("\\s+");
      if (f.length < 10) {
        continue; // no socket on it (a blank line)
      }
      sockets.add(new TcpSocket(port(f[1]), port(f[2]), Long.parseLong(f[9])));
    }
    return sockets;
  }

  static long openFileLimit(String limits) {
    for (String line : limits.split("\n")) {
      if (line.startsWith("Max open files")) { // "Max open files   20000   20000   files"
        String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
        return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
      }
    }
    throw new IllegalArgumentException("no 'Max open files' line");
  }

  private static Path fdDir(long pid) {
    return Path.of("/proc", Long.toString(pid), "fd");
  }

  private static int port(String hexAddress) {
    return Integer.parseInt(hexAddress.substring(hexAddress.lastIndexOf(':') + 1), 16);
  }

  /** Reads to the end: {@code Files.readString} trusts a size /proc does not report. */
  private static String read(Path path) throws IOException {
    try (InputStream in = Files.newInputStream(path)) {
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    }
  }
}
