package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static walnut.core.proxy.EngineHarness.written;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

class EngineSmokeTest {
  @Test
  void aGetGoesToItsServerAndItsReplyComesBack() {
    try (EngineHarness h = EngineHarness.of(2, 0)) {
      EmbeddedChannel c = h.clientSending("get 1a\n");
      EmbeddedChannel s1 = h.backend(1);
      assertEquals("get 1a\n", written(s1));
      h.reply(s1, "v1\n");
      assertEquals("v1\n", written(c));
    }
  }
}
