package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import walnut.testing.FreePorts;
import walnut.testing.Poll;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;

/**
 * Logging driven by signals through the packaged {@code bin/walnut}, as logrotate and an operator
 * drive it: SIGHUP reopens {@code -o} after a rename, SIGTTIN/SIGTTOU step the level (seen by a
 * debug line that appears and disappears), SIGUSR2 is logged and ignored.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@SingleTransport
class LoggingIT {

  @TempDir
  Path tmp;

  private Path config(RedisServer backend) throws Exception {
    Path conf = tmp.resolve("nutcracker.yml");
    Files.writeString(conf, "one:\n  listen: 127.0.0.1:" + FreePorts.next() + "\n  redis: true\n"
        + "  servers:\n   - 127.0.0.1:" + backend.port() + ":1\n");
    return conf;
  }

  @Test
  void sighupReopensTheLogFileThatLogrotateRenamed() throws Exception {
    try (RedisServer backend = RedisServer.start();
        WalnutProcess walnut = WalnutProcess.daemon(tmp, "-c", config(backend).toString(),
            "-s", Integer.toString(FreePorts.next()))) {
      walnut.awaitLog("walnut-" + Main.VERSION + " started", 1);
      Path rotated = tmp.resolve("walnut.log.1");
      Files.move(walnut.log, rotated);

      walnut.signal("HUP");
      String reopened = "signal 1 (SIGHUP) received, log file '" + walnut.log + "' reopened";
      if (!Poll.within(Duration.ofSeconds(30), () -> walnut.log().contains(reopened))) {
        fail("no '" + reopened + "' within 30 s; alive: " + walnut.alive() + "\nnew log:\n"
            + walnut.log() + "\nrenamed log:\n" + WalnutProcess.read(rotated));
      }
      walnut.signal("USR2");
      walnut.awaitLog("signal 12 (SIGUSR2) received, ignored", 1);

      String before = WalnutProcess.read(rotated);
      assertTrue(before.contains("started"), before);
      assertFalse(before.contains("SIGHUP") || before.contains("SIGUSR2"),
          "nothing after the reopen goes to the renamed file: " + before);
      assertFalse(walnut.log().contains("started"), "the new file starts at the reopen");
      assertTrue(walnut.alive());
    }
  }

  @Test
  void sigttinAndSigttouRaiseAndLowerTheLevel() throws Exception {
    int statsPort = FreePorts.next();
    String debugLine = "DEBUG StatsServer";
    try (RedisServer backend = RedisServer.start();
        WalnutProcess walnut = WalnutProcess.daemon(tmp, "-c", config(backend).toString(),
            "-s", Integer.toString(statsPort), "-v", "6")) {
      OpsFixture.readStats(statsPort); // at info: not logged

      walnut.signal("TTIN");
      walnut.awaitLog("signal 21 (SIGTTIN) received, up logging level to 7 (debug)", 1);
      OpsFixture.readStats(statsPort); // at debug: one line
      walnut.awaitLog(debugLine, 1);

      walnut.signal("TTOU");
      walnut.awaitLog("signal 22 (SIGTTOU) received, down logging level to 6 (info)", 1);
      OpsFixture.readStats(statsPort); // at info again: not logged
      walnut.signal("TTOU");
      walnut.awaitLog("signal 22 (SIGTTOU) received, down logging level to 5 (notice)", 1);

      // The reading at info happened before the last signal line was written.
      assertEquals(1, WalnutProcess.occurrences(walnut.log(), debugLine), walnut.log());
    }
  }

  @Test
  void aLogFileThatCannotBeOpenedStopsTheStart() throws Exception {
    Path dir = tmp.resolve("no-such-dir");
    WalnutProcess.Result r;
    try (RedisServer backend = RedisServer.start()) {
      r = WalnutProcess.run("-c", config(backend).toString(), "-s",
          Integer.toString(FreePorts.next()), "-o", dir.resolve("walnut.log").toString());
    }
    assertEquals(1, r.exit(), r.output());
    assertTrue(r.output().contains("opening log file '" + dir.resolve("walnut.log")
        + "' failed: No such file or directory"), r.output());
  }
}
