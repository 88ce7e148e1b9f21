package walnut.benchmarks.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoadTest {

  @Test
  void redisCasesAreRedisBenchmarkCommandLines() {
    assertEquals(List.of("redis-benchmark", "-h", "127.0.0.1", "-p", "7000", "-c", "50", "-n",
        "1000", "-P", "16", "-r", "10000", "-t", "get"),
        Load.command("GET P16", 7000, 1000, 50, "mcload"));
    List<String> mget = Load.command("MGET10 P1", 7000, 1000, 50, "mcload");
    assertEquals(List.of("-P", "1", "-r", "10000", "mget"), mget.subList(9, 14));
    assertEquals(10, mget.stream().filter(a -> a.equals("key:__rand_int__")).count());
  }

  @Test
  void aResp3CaseIsTheSameLoadWithHello3() {
    assertEquals(List.of("redis-benchmark", "-h", "127.0.0.1", "-p", "7000", "-c", "50", "-n",
        "1000", "-P", "16", "-r", "10000", "-3", "-t", "get"),
        Load.command("GET P16 RESP3", 7000, 1000, 50, "mcload"));
  }

  @Test
  void aTlsCaseIsTheSameLoadOverTlsWhenItsClientSideIs() {
    Path ca = Path.of("/pki/ca.crt");
    List<String> plain = Load.command("MGET10 P16", 7000, 1000, 50, "mcload", ca);
    List<String> client = Load.command("MGET10 P16 TLS-client", 7000, 1000, 50, "mcload", ca);
    List<String> tls = new ArrayList<>(plain);
    tls.addAll(13, List.of("--tls", "--cacert", "/pki/ca.crt"));
    assertEquals(tls, client, "the options before the command");
    assertEquals(client, Load.command("MGET10 P16 TLS-both", 7000, 1000, 50, "mcload", ca));
    assertEquals(plain, Load.command("MGET10 P16 TLS-server", 7000, 1000, 50, "mcload", ca),
        "Walnut speaks TLS to its backends; the load is plain");
    assertThrows(IllegalArgumentException.class,
        () -> Load.command("GET P1 TLS-client", 1, 1, 1, "m"), "no CA to verify with");
  }

  @Test
  void memcacheCasesAreMcloadCommandLinesWithThePipelineAndTheKeyspace() {
    assertEquals(List.of("/x/mcload", "-s", "127.0.0.1:7001", "-c", "50", "-n", "1001", "-P", "16",
        "-t", "set", "-r", "10000"), Load.command("mc set P16", 7001, 1001, 50, "/x/mcload"));
    assertEquals(List.of("-P", "1", "-t", "get"),
        Load.command("mc get P1", 7001, 1001, 50, "/x/mcload").subList(7, 11));
  }

  @Test
  void anUnknownCaseIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> Load.command("DEL P1", 1, 1, 1, "m"));
    assertThrows(IllegalArgumentException.class, () -> Load.command("GET", 1, 1, 1, "m"));
    assertThrows(IllegalArgumentException.class, () -> Load.command("mc get", 1, 1, 1, "m"));
    assertThrows(IllegalArgumentException.class, () -> Load.command("mc del P1", 1, 1, 1, "m"));
    assertThrows(IllegalArgumentException.class,
        () -> Load.command("mc get P1 TLS-both", 1, 1, 1, "m", Path.of("ca")));
  }
}
