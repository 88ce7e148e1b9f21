package walnut.benchmarks.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class LoadTest {

  @Test
  void redisCasesAreRedisBenchmarkCommandLines() {
    assertEquals(List.of("redis-benchmark", "-h", "127.0.0.1", "-p", "7000", "-c", "50", "-n",
        "1000", "-P", "16", "-r", "10000", "-t", "get"), Load.command("GET P16", 7000, 1000, 50));
    List<String> mget = Load.command("MGET10 P1", 7000, 1000, 50);
    assertEquals(List.of("-P", "1", "-r", "10000", "mget"), mget.subList(9, 14));
    assertEquals(10, mget.stream().filter(a -> a.equals("key:__rand_int__")).count());
  }

  @Test
  void aResp3CaseIsTheSameLoadWithHello3() {
    assertEquals(List.of("redis-benchmark", "-h", "127.0.0.1", "-p", "7000", "-c", "50", "-n",
        "1000", "-P", "16", "-r", "10000", "-3", "-t", "get"),
        Load.command("GET P16 RESP3", 7000, 1000, 50));
  }

  @Test
  void memcacheCasesSpreadTheRequestsOverMemcslapsThreads() {
    assertEquals(List.of("memcslap", "-s", "127.0.0.1:7001", "-t", "set", "-c", "50", "-e", "21"),
        Load.command("mc set", 7001, 1001, 50));
  }

  @Test
  void anUnknownCaseIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> Load.command("DEL P1", 1, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> Load.command("GET", 1, 1, 1));
  }
}
