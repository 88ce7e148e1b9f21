package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ServerProcessTest {
  @Test
  void missingBinaryFailsWithAnInstallHint() {
    IllegalStateException error =
        assertThrows(
            IllegalStateException.class,
            () ->
                ServerProcess.start(
                    "walnut-no-such-server",
                    "walnut-no-such-package",
                    port -> List.of(),
                    port -> true,
                    true));
    assertTrue(
        error.getMessage().contains("apt-get install walnut-no-such-package"), error.getMessage());
  }
}
