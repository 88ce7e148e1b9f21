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
import java.util.List;
import org.junit.jupiter.api.Test;

class RedisServerTest {
  private static boolean alive(long pid) {
    return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
  }

  @Test
  void startedServerAnswersOnLoopback() {
    try (RedisServer redis = RedisServer.start()) {
      assertEquals("127.0.0.1", redis.host());
      assertTrue(alive(redis.pid()));
      assertEquals("PONG", redis.command("PING"));
      assertEquals("OK", redis.command("SET", "k", "v\u00e9"));
      assertEquals("v\u00e9", redis.command("GET", "k"));
      assertEquals(1L, redis.command("EXISTS", "k"));
      assertNull(redis.command("GET", "missing"));
      assertEquals(2L, redis.command("RPUSH", "list", "a", "b"));
      assertEquals(List.of("a", "b"), redis.command("LRANGE", "list", "0", "-1"));
      assertInstanceOf(RedisServer.ErrorReply.class, redis.command("NOSUCHCOMMAND"));
    }
  }

  @Test
  void pausedServerTimesOutUntilResumed() {
    try (RedisServer redis = RedisServer.start()) {
      redis.pause();
      UncheckedIOException timeout =
          assertThrows(
              UncheckedIOException.class, () -> redis.command(Duration.ofMillis(200), "PING"));
      assertInstanceOf(SocketTimeoutException.class, timeout.getCause());
      redis.resume();
      assertEquals("PONG", redis.command("PING"));
    }
  }

  @Test
  void killedServerRestartsEmptyOnTheSamePort() {
    try (RedisServer redis = RedisServer.start()) {
      int port = redis.port();
      long firstPid = redis.pid();
      redis.command("SET", "k", "v");
      redis.kill();
      assertFalse(alive(firstPid));
      assertFalse(redis.isRunning());
      assertThrows(UncheckedIOException.class, () -> redis.command("PING"));
      redis.restart();
      assertEquals(port, redis.port());
      assertNotEquals(firstPid, redis.pid());
      assertEquals("PONG", redis.command("PING"));
      assertNull(redis.command("GET", "k"));
    }
  }

  @Test
  void closeLeavesNoProcessAndNoDirectory() {
    RedisServer redis = RedisServer.start();
    long pid = redis.pid();
    Path dir = redis.workingDirectory();
    assertTrue(Files.isDirectory(dir));
    redis.close();
    assertFalse(alive(pid));
    assertFalse(Files.exists(dir));
    redis.close(); // idempotent
  }

  @Test
  void closeStopsAPausedServer() {
    RedisServer redis = RedisServer.start();
    long pid = redis.pid();
    redis.pause();
    redis.close();
    assertFalse(alive(pid));
  }

  @Test
  void commandAuthenticatesWhenAPasswordIsRequired() {
    try (RedisServer redis = RedisServer.start("--requirepass", "s3cret")) {
      assertEquals("PONG", redis.command("PING"));
      assertEquals(List.of("requirepass", "s3cret"), redis.command("CONFIG", "GET", "requirepass"));
    }
  }

  @Test
  void badArgumentsFailWithTheServerOutput() {
    IllegalStateException error =
        assertThrows(IllegalStateException.class, () -> RedisServer.start("--no-such-option", "1"));
    assertTrue(error.getMessage().contains("no-such-option"), error.getMessage());
  }
}
