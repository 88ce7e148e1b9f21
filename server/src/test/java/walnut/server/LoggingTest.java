package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class LoggingTest {

  @AfterEach
  void restoreDefaults() {
    Logging.configure(5, null);
  }

  @Test
  void twemproxyLevelsMapOntoLogback() {
    assertEquals(Level.OFF, Logging.levelFor(0));
    for (int n = 1; n <= 3; n++) {
      assertEquals(Level.ERROR, Logging.levelFor(n), "level " + n);
    }
    assertEquals(Level.WARN, Logging.levelFor(4));
    assertEquals(Level.INFO, Logging.levelFor(5));
    assertEquals(Level.INFO, Logging.levelFor(6));
    assertEquals(Level.DEBUG, Logging.levelFor(7));
    for (int n = 8; n <= 11; n++) {
      assertEquals(Level.TRACE, Logging.levelFor(n), "level " + n);
    }
    assertEquals("notice", Logging.name(5));
    assertEquals("pverb", Logging.name(11));
  }

  @Test
  void ttinAndTtouStepWithinZeroToEleven() {
    Logging.configure(10, null);
    assertEquals(11, Logging.raise());
    assertEquals(11, Logging.raise());
    ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger)
        LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    assertEquals(Level.TRACE, root.getLevel());
    Logging.configure(1, null);
    assertEquals(0, Logging.lower());
    assertEquals(0, Logging.lower());
    assertEquals(Level.OFF, root.getLevel());
    assertEquals(Level.INFO, ((ch.qos.logback.classic.Logger)
        LoggerFactory.getLogger(Logging.ALWAYS)).getLevel(), "signal lines are always written");
    assertEquals(1, Logging.raise());
    assertEquals(Level.ERROR, root.getLevel());
  }
}
