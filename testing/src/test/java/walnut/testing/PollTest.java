package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class PollTest {
  @Test
  void untilReturnsOnceTheConditionHolds() {
    AtomicInteger calls = new AtomicInteger();
    Poll.until(Duration.ofSeconds(5), () -> calls.incrementAndGet() >= 3, "third call");
    assertTrue(calls.get() >= 3);
  }

  @Test
  void untilFailsNamingWhatItWaitedFor() {
    AssertionError error =
        assertThrows(
            AssertionError.class,
            () -> Poll.until(Duration.ofMillis(30), () -> false, "the moon to turn blue"));
    assertTrue(error.getMessage().contains("the moon to turn blue"), error.getMessage());
  }

  @Test
  void withinChecksOnceMoreAfterTheDeadline() {
    long deadline = System.nanoTime() + Duration.ofMillis(20).toNanos();
    assertTrue(Poll.within(Duration.ofMillis(20), () -> System.nanoTime() - deadline >= 0));
    assertFalse(Poll.within(Duration.ZERO, () -> false));
  }
}
