package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

class EngineSmokeTest {
  @Test
  void aGetGoesToItsServerAndItsReplyComesBack() {
    try (EngineHarness h = new EngineHarness(EngineHarness.poolConfig(2, 0).build(),
        EngineHarness.defaults())) {
      EmbeddedChannel c = h.client();
      h.send(c, "get 1a\n");
      EmbeddedChannel s1 = h.backend(1);
      assertEquals("get 1a\n", EngineHarness.written(s1));
      h.reply(s1, "v1\n");
      assertEquals("v1\n", EngineHarness.written(c));
    }
  }
}
