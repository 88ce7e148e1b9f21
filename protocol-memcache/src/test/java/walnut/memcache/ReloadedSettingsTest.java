package walnut.memcache;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.config.ServerConfig;
import walnut.core.spi.Request.Kind;
import walnut.memcache.RequestHarness.Decoded;
import walnut.testing.Chunking;

/**
 * A reload changes {@code max_request_size} under a client connected before it: the decoder reads
 * the pool's settings as each request starts, so the new limit applies from the client's next
 * request, while a request partly received keeps the limit it started with.
 */
class ReloadedSettingsTest {

  private final AtomicReference<PoolConfig> settings = new AtomicReference<>();

  private static PoolConfig pool(long maxRequestSize) {
    return PoolConfig.builder("p").listen(Endpoint.tcp("127.0.0.1", 1)).redis(false)
        .server(ServerConfig.of(Endpoint.tcp("127.0.0.1", 7000), 1))
        .maxRequestSize(maxRequestSize).build();
  }

  private RequestHarness connect(long maxRequestSize) {
    settings.set(pool(maxRequestSize));
    return new RequestHarness(Chunking.seed(),
        (MemcacheRequestDecoder) new MemcacheProtocol().newLiveRequestDecoder(settings::get));
  }

  private static List<String> replies(RequestHarness h, Chunking chunking, String... requests) {
    List<Decoded> out = h.send(String.join("", requests), chunking);
    return out.stream().map(d -> d.kind() == Kind.LOCAL ? d.frame() : d.kind().name()).toList();
  }

  private static String set(int size) {
    return "set k 0 0 " + size + "\r\n" + "v".repeat(size) + "\r\n";
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void aChangedMaxRequestSizeAppliesFromTheNextRequest(Chunking chunking) {
    RequestHarness h = connect(1000);
    assertEquals(List.of(Replies.TOO_LARGE + "\r\n"), replies(h, chunking, set(2000)));
    settings.set(pool(4096));
    assertEquals(List.of("ROUTED"), replies(h, chunking, set(2000)));
    settings.set(pool(1000));
    assertEquals(List.of(Replies.TOO_LARGE + "\r\n", "ROUTED"),
        replies(h, chunking, set(2000), set(1000)));
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void aLongGetLineFollowsTheLimit(Chunking chunking) {
    RequestHarness h = connect(4096);
    String get = "get " + "k ".repeat(1500) + "\r\n"; // 3,006 bytes: above 2,048, below 4,096
    assertEquals(List.of("SPLIT"), replies(h, chunking, get));
    settings.set(pool(1000));
    assertEquals(List.of(Replies.LINE_TOO_LONG + "\r\n"), replies(h, chunking, get));
    h.finish();
  }

  @ParameterizedTest
  @EnumSource(Chunking.class)
  void aRequestPartlyReceivedAtTheReloadKeepsTheLimitItStartedWith(Chunking chunking) {
    RequestHarness h = connect(4096);
    String set = set(2000);
    // The command line is in, its data block not yet: the limit it was accepted under holds.
    assertEquals(List.of(), replies(h, chunking, set.substring(0, 30)));
    settings.set(pool(1000));
    assertEquals(List.of("ROUTED", Replies.TOO_LARGE + "\r\n"),
        replies(h, chunking, set.substring(30), set));
    h.finish();
  }
}
