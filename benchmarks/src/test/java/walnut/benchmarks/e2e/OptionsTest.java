package walnut.benchmarks.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OptionsTest {

  @TempDir
  Path root;

  private Options parse(String... args) {
    return Options.parse(args, root, 4);
  }

  private String refusal(String... args) {
    return assertThrows(IllegalArgumentException.class, () -> parse(args)).getMessage();
  }

  @Test
  void defaultsAreThoseOfTheScript() {
    Options o = parse();
    assertEquals(List.of(1, 2, 4), o.threads(), "1, 2 and doubling up to the cores");
    assertEquals(List.of("auto"), o.transports());
    assertEquals(3, o.rounds());
    assertEquals(5, o.seconds());
    assertEquals(50, o.clients());
    assertEquals(Options.ALL_CASES, o.cases());
    assertTrue(o.memcache());
    assertFalse(o.keep());
    assertEquals(root.resolve("benchmarks/results"), o.out());
    assertEquals(5000, o.idleClients());
    assertEquals(30, o.settle());
    assertEquals("e2e", o.prefix());
  }

  @Test
  void quickIsOneRoundOfOneSecondUnlessToldOtherwise() {
    Options quick = parse("--quick", "--threads", "1");
    assertEquals(1, quick.rounds());
    assertEquals(1, quick.seconds());
    assertEquals(List.of(1), quick.threads());
    assertEquals("e2e-quick", quick.prefix());
    assertEquals(2, parse("--quick", "--rounds", "2").rounds());
  }

  @Test
  void casesNoMemcacheAndTheirInteraction() {
    Options redisOnly = parse("--no-memcache");
    assertFalse(redisOnly.memcache());
    assertEquals(9, redisOnly.cases().size(), "six RESP2 cases and three RESP3");
    Options chosen = parse("--cases", "GET P1,mc get P16");
    assertEquals(List.of("GET P1", "mc get P16"), chosen.cases());
    assertTrue(chosen.memcache());
    assertFalse(parse("--cases", "GET P16").memcache(), "no memcached case: no memcacheds");
    assertTrue(refusal("--no-memcache", "--cases", "mc get P1").startsWith("--cases: 'mc get P1'"
        + " is unknown (known: GET P1,"));
    assertTrue(refusal("--cases", "mc get").contains("mc get P1,mc get P16,mc set P1,mc set P16"),
        "memcslap's cases are gone; mcload's have a pipeline");
  }

  @Test
  void tlsCasesAreKnownButNotRunByDefault() {
    Options o = parse();
    assertFalse(o.tls());
    assertEquals(List.of("auto"), o.tlsProviders());
    Options chosen = parse("--cases", "GET P1,GET P1 TLS-client");
    assertEquals(List.of("GET P1", "GET P1 TLS-client"), chosen.cases());
    assertTrue(chosen.tls());
    assertFalse(chosen.tlsBackends(), "client-side TLS only: the plain backends serve it");
    assertTrue(parse("--cases", "GET P1 TLS-both").tlsBackends());
    assertTrue(refusal("--cases", "mc get P1 TLS-client").contains("is unknown"));
    assertTrue(refusal("--cases", "GET P1 RESP3 TLS-both").contains("is unknown"));
  }

  @Test
  void tlsAddsTheVariantsOfEveryRedisCaseAfterIt() {
    Options o = parse("--cases", "GET P1,MGET10 P1,mc get P1", "--tls");
    assertEquals(List.of("GET P1", "GET P1 TLS-client", "GET P1 TLS-server", "GET P1 TLS-both",
        "MGET10 P1", "MGET10 P1 TLS-client", "MGET10 P1 TLS-server", "MGET10 P1 TLS-both",
        "mc get P1"), o.cases());
    assertEquals(List.of("GET P16", "GET P16 TLS-client"),
        parse("--cases", "GET P16,GET P16 TLS-client", "--tls").cases().subList(0, 2));
    assertTrue(refusal("--cases", "mc get P1", "--tls").startsWith("--tls: none of the cases"));
  }

  @Test
  void tlsProvidersAreAutoOpensslOrJdk() {
    assertEquals(List.of("openssl", "jdk"), parse("--tls-providers", "openssl,jdk")
        .tlsProviders());
    assertEquals("--tls-providers: 'boring' is not auto, openssl or jdk",
        refusal("--tls-providers", "openssl,boring"));
    assertEquals("--tls-providers needs a list, e.g. openssl,jdk", refusal("--tls-providers"));
  }

  @Test
  void alsoNeedsABuiltCheckout() throws IOException {
    Path other = root.resolve("other");
    assertEquals("--also: " + other + " has no built distribution (run mvn -q -B -DskipTests"
        + " package there)", refusal("--also", "before=" + other));
    Files.createDirectories(other.resolve("server/target/walnut/lib"));
    Files.writeString(other.resolve("server/target/walnut/lib/walnut-server-0.1.0.jar"), "");
    Options o = parse("--also", "before=" + other);
    assertEquals(List.of(new Options.Also("before", other)), o.also());
    assertEquals("--also: 'Before=x' is not NAME=DIR (NAME: a-z and _)",
        refusal("--also", "Before=x"));
  }

  @Test
  void proxyTakesANameAndACommandWithItsConfiguration() {
    Options o = parse("--proxy", "nc-0.4=/opt/nc/sbin/nutcracker -c {conf} -s {stats}");
    assertEquals(List.of(new Options.Candidate("nc-0.4", "/opt/nc/sbin/nutcracker -c {conf} -s"
        + " {stats}")), o.candidates());
    assertTrue(refusal("--proxy", "mine=/opt/mine --port {port}").contains("has no {conf}"));
    assertTrue(refusal("--proxy", "=/opt/mine -c {conf}").contains("is not NAME=COMMAND"));
  }

  @Test
  void refusesWhatTheScriptRefused() {
    assertEquals("'0' is not a positive integer", refusal("--rounds", "0"));
    assertEquals("'x' is not a positive integer", refusal("--seconds", "x"));
    assertEquals("--threads: '1.5' is not a positive integer", refusal("--threads", "1,1.5"));
    assertEquals("--transports: 'kqueue' is not auto, nio, epoll or io_uring",
        refusal("--transports", "epoll,kqueue"));
    assertEquals("unknown option: '--fast'", refusal("--fast"));
    assertEquals("--clients needs a number", refusal("--clients"));
    assertEquals(0, parse("--idle-clients", "0").idleClients());
    assertEquals("--idle-clients: '-1' is not a positive integer",
        refusal("--idle-clients", "-1"));
    assertEquals(0, parse("--settle", "0").settle());
    assertEquals(5, parse("--settle", "5").settle());
    assertEquals("--settle: '5s' is not a positive integer", refusal("--settle", "5s"));
    assertEquals("--settle needs a number of seconds", refusal("--settle"));
  }
}
