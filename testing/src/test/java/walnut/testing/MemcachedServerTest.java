package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class MemcachedServerTest {
  private static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  @Test
  void startedServerAnswersOnLoopback() {
    try (MemcachedServer memcached = MemcachedServer.start()) {
      assertEquals("127.0.0.1", memcached.host());
      assertTrue(alive(memcached.pid()));
      assertTrue(memcached.command("version").startsWith("VERSION "));
      assertTrue(memcached.set("k", "v\u00e9"));
      assertEquals("v\u00e9", memcached.get("k"));
      assertNull(memcached.get("missing"));
      assertEquals("STORED\r\n", memcached.command("set crlf 5 0 4\r\na\r\nb"));
      assertEquals(
          "VALUE crlf 5 4\r\na\r\nb\r\nVALUE k 0 3\r\nv\u00e9\r\nEND\r\n",
          memcached.command("get crlf k"));
      assertEquals("NOT_FOUND\r\n", memcached.command("delete missing"));
      assertTrue(memcached.command("stats").endsWith("END\r\n"));
    }
  }

  @Test
  void pausedServerTimesOutUntilResumed() {
    try (MemcachedServer memcached = MemcachedServer.start()) {
      memcached.pause();
      UncheckedIOException timeout =
          assertThrows(
              UncheckedIOException.class,
              () -> memcached.command(Duration.ofMillis(200), "version"));
      assertInstanceOf(SocketTimeoutException.class, timeout.getCause());
      memcached.resume();
      assertTrue(memcached.command("version").startsWith("VERSION "));
    }
  }

  @Test
  void killedServerRestartsEmptyOnTheSamePort() {
    try (MemcachedServer memcached = MemcachedServer.start()) {
      int port = memcached.port();
      long firstPid = memcached.pid();
      memcached.set("k", "v");
      memcached.kill();
      assertFalse(alive(firstPid));
      assertThrows(UncheckedIOException.class, () -> memcached.command("version"));
      memcached.restart();
      assertEquals(port, memcached.port());
      assertNotEquals(firstPid, memcached.pid());
      assertNull(memcached.get("k"));
    }
  }

  @Test
  void closeLeavesNoProcessAndNoDirectory() {
    MemcachedServer memcached = MemcachedServer.start();
    long pid = memcached.pid();
    Path dir = memcached.workingDirectory();
    memcached.close();
    assertFalse(alive(pid));
    assertFalse(Files.exists(dir));
  }

  @Test
  void closeStopsAPausedServer() {
    MemcachedServer memcached = MemcachedServer.start();
    long pid = memcached.pid();
    memcached.pause();
    memcached.close();
    assertFalse(alive(pid));
  }
}
