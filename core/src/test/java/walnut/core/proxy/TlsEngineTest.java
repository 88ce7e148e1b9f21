package walnut.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static walnut.core.proxy.EngineHarness.written;
import static walnut.core.proxy.LineProtocol.err;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;
import walnut.core.config.BackendTls;
import walnut.core.stats.ServerStat;
import walnut.core.stats.TlsStats;
import walnut.core.tls.RotatingTls;

/**
 * The engine's TLS rules on embedded channels (docs/compatibility.md#tls): a server connection is
 * connected only once its handshake is over, so requests wait for it; a handshake that fails or
 * times out fails the connect (its requests answered with the TLS error, later ones failing fast
 * while the connector backs off) and counts; a client's close_notify is its end of input.
 */
class TlsEngineTest {

  private static final String TLS_FAILED = err(ErrorText.TLS_FAILED);
  private static final String TLS_TIMED_OUT = err(ErrorText.TLS_TIMED_OUT);

  private final TlsStats tlsStats = new TlsStats();

  /** A pool of {@code servers} line servers reached over TLS (no certificate checked: no files). */
  private EngineHarness harness(int servers, int timeoutMillis) {
    BackendTls config = new BackendTls(null, null, null, null, false);
    RotatingTls backend = RotatingTls.backend("p", config, SslProvider.JDK,
        tlsStats.of("p", TlsStats.Side.SERVER));
    return new EngineHarness(
        EngineHarness.poolConfig(servers, timeoutMillis).serverTls(config).build(),
        EngineHarness.defaults(), new LineProtocol(), new PoolTls(null, backend, 10_000,
            io.netty.util.concurrent.ImmediateExecutor.INSTANCE));
  }

  /** What {@code ch} wrote, as raw bytes, released: a TLS ClientHello starts with 0x16 0x03. */
  private static byte[] rawWritten(EmbeddedChannel ch) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    Object msg;
    while ((msg = ch.readOutbound()) != null) {
      if (msg instanceof ByteBuf buf) {
        byte[] bytes = new byte[buf.readableBytes()];
        buf.readBytes(bytes);
        out.writeBytes(bytes);
      }
      ReferenceCountUtil.release(msg);
    }
    return out.toByteArray();
  }

  @Test
  void requestsWaitForTheHandshakeAndNoneIsWrittenInTheClear() {
    try (EngineHarness h = harness(1, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      assertTrue(s0.pipeline().get(SslHandler.class) != null, "TLS first in the pipeline");
      byte[] hello = rawWritten(s0);
      assertTrue(hello.length > 5 && hello[0] == 0x16 && hello[1] == 0x03,
          "the handshake's ClientHello went out, nothing else");
      assertFalse(new String(hello, java.nio.charset.StandardCharsets.ISO_8859_1)
          .contains("get 0a"), "the request waits for the handshake");
      assertEquals("", written(c));
      assertEquals(0, h.serverStat(0, ServerStat.SERVER_CONNECTIONS), "not connected yet");
    }
  }

  @Test
  void aServerThatDoesNotSpeakTlsFailsTheConnectAndTheNextRequestFailsFast() {
    try (EngineHarness h = harness(1, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\nget 0b\n");
      EmbeddedChannel s0 = h.backend(0);
      rawWritten(s0);
      h.reply(s0, "ERR I speak plain text\n");

      assertEquals(TLS_FAILED + TLS_FAILED, written(c), "each request, in order");
      assertFalse(s0.isOpen());
      assertEquals(1, tlsStats.of("p", TlsStats.Side.SERVER).handshakeFailures());
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_ERR));

      h.send(c, "get 0c\n");
      assertEquals(TLS_FAILED, written(c), "backing off: fails fast with the same reason");
      assertEquals(1, h.backends.size(), "no connect per request to a server that fails TLS");

      h.advance(10);
      h.send(c, "get 0d\n");
      assertEquals(2, h.backends.size(), "the back-off is over: a new connect and handshake");
    }
  }

  @Test
  void aHandshakeThatDoesNotFinishWithinTheConnectTimeoutFailsAsTimedOut() {
    // No pool timeout: the connect, handshake included, has Walnut's 30 s.
    try (EngineHarness h = harness(1, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      rawWritten(s0);

      h.advance(29_999);
      assertEquals("", written(c));
      assertTrue(s0.isOpen());

      h.advance(1);
      assertEquals(TLS_TIMED_OUT, written(c));
      assertFalse(s0.isOpen());
      assertEquals(1, tlsStats.of("p", TlsStats.Side.SERVER).handshakeTimeouts());
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
    }
  }

  @Test
  void requestsThatTimeOutWaitingForTheHandshakeSayTheHandshakeTimedOut() {
    try (EngineHarness h = harness(1, 400)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      EmbeddedChannel s0 = h.backend(0);
      rawWritten(s0);

      h.advance(400); // the request's timeout, which starts before the handshake's
      assertEquals(TLS_TIMED_OUT, written(c), "what they waited for: the server's handshake");
      assertFalse(s0.isOpen());
      assertEquals(1, h.serverStat(0, ServerStat.SERVER_TIMEDOUT));
      TlsStats.Counters tls = tlsStats.of("p", TlsStats.Side.SERVER);
      assertEquals(1, tls.handshakeTimeouts());
      assertEquals(0, tls.handshakeFailures(), "the close it made is not a second failure");
    }
  }

  @Test
  void aClientsCloseNotifyEndsItsInputLikeAFin() {
    try (EngineHarness h = EngineHarness.of(1, 0)) {
      EmbeddedChannel c = h.clientSending("get 0a\n");
      c.pipeline().fireUserEventTriggered(SslCloseCompletionEvent.SUCCESS);
      h.run();
      assertTrue(c.isOpen(), "a reply is still owed");
      EmbeddedChannel s0 = h.backend(0);
      h.reply(s0, "v\n");
      assertEquals("v\n", written(c));
      assertFalse(c.isOpen(), "closed once the last reply owed was written");
    }
  }

  @Test
  void sslFailuresGetTheirOwnErrorText() {
    assertEquals(ErrorText.TLS_FAILED, ErrorText.of(new io.netty.handler.codec.DecoderException(
        new SSLHandshakeException("PKIX path building failed"))));
    assertEquals(ErrorText.TLS_TIMED_OUT, ErrorText.of(
        new io.netty.handler.ssl.SslHandshakeTimeoutException("handshake timed out")));
  }
}
