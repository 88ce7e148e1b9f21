package walnut.benchmarks.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
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
  void readsThisProcessFromProc() throws IOException {
    long pid = ProcessHandle.current().pid();
    assertTrue(ProcFs.rssKib(pid) > 1024, "a JVM holds more than a MiB");
    assertTrue(ProcFs.openFiles(pid) > 3);
    assertTrue(ProcFs.processTicks(pid) >= 0);
    assertTrue(ProcFs.machineTicks() > 0);
    assertTrue(ProcFs.openFileLimit() > 0);
  }
}
