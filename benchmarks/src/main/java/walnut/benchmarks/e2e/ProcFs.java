package walnut.benchmarks.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * What the end-to-end run reads from Linux's /proc: CPU time of a process and of the machine,
 * a process's resident memory and open files, and this process's limit on open files. Each
 * reader has a parser of the file's text beside it, for the tests.
 */
final class ProcFs {

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
    try (Stream<Path> fds = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
      return (int) fds.count();
    }
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

  static long openFileLimit(String limits) {
    for (String line : limits.split("\n")) {
      if (line.startsWith("Max open files")) { // "Max open files   20000   20000   files"
        String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
        return soft.equals("unlimited") ? Long.MAX_VALUE : Long.parseLong(soft);
      }
    }
    throw new IllegalArgumentException("no 'Max open files' line");
  }

  /** Reads to the end: {@code Files.readString} trusts a size /proc does not report. */
  private static String read(Path path) throws IOException {
    try (InputStream in = Files.newInputStream(path)) {
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
    }
  }
}
