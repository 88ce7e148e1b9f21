package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class AllocatorSizingTest {

  @Test
  void oneArenaPerEventLoopSmallChunksAndTrimmedCaches() {
    Map<String, String> p = AllocatorSizing.properties(3);
    assertEquals("3", p.get("io.netty.allocator.numDirectArenas"));
    assertEquals("3", p.get("io.netty.allocator.numHeapArenas"));
    assertEquals("7", p.get("io.netty.allocator.maxOrder")); // 8 KiB << 7 = 1 MiB chunks
    assertEquals("10000", p.get("io.netty.allocator.cacheTrimIntervalMillis"));
  }

  @Test
  void aPropertyTheUserSetIsKept() {
    Properties target = new Properties();
    target.setProperty("io.netty.allocator.cacheTrimIntervalMillis", "1234");
    AllocatorSizing.apply(2, target);
    assertEquals("1234", target.getProperty("io.netty.allocator.cacheTrimIntervalMillis"));
    assertEquals("2", target.getProperty("io.netty.allocator.numDirectArenas"));
  }
}
