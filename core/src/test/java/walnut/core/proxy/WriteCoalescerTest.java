package walnut.core.proxy;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WriteCoalescerTest {

  private final EmbeddedChannel channel = new EmbeddedChannel();
  private final WriteCoalescer writer = new WriteCoalescer(channel, PooledByteBufAllocator.DEFAULT);
  private final List<ByteBuf> given = new ArrayList<>();

  @AfterEach
  void everyFrameIsReleased() {
    drainOutbound();
    channel.finishAndReleaseAll();
    for (ByteBuf frame : given) {
      assertEquals(0, frame.refCnt(), "a frame given to the writer was never released");
    }
  }

  private ByteBuf frame(String text) {
    ByteBuf frame = Unpooled.directBuffer().writeBytes(text.getBytes(US_ASCII));
    given.add(frame);
    return frame;
  }

  private ByteBuf frame(int size, char fill) {
    return frame(String.valueOf(fill).repeat(size));
  }

  /** The messages that reached the channel, as text; each is released once read. */
  private List<String> drainOutbound() {
    List<String> out = new ArrayList<>();
    ByteBuf message;
    while ((message = channel.readOutbound()) != null) {
      out.add(message.toString(US_ASCII));
      message.release();
    }
    return out;
  }

  @Test
  void aLoneFrameGoesOutAsItIsUncopied() {
    ByteBuf reply = frame("+OK\r\n");
    writer.write(reply);
    writer.flush();
    ByteBuf out = channel.readOutbound();
    assertSame(reply, out);
    out.release();
    assertNull(channel.readOutbound());
  }

  @Test
  void smallFramesOfOneBurstAreOneMessageInOrder() {
    writer.write(frame("$1\r\na\r\n"));
    writer.write(frame("$1\r\nb\r\n"));
    writer.write(frame("$-1\r\n"));
    assertNull(channel.readOutbound(), "nothing goes out before the flush");
    writer.flush();
    assertEquals(List.of("$1\r\na\r\n$1\r\nb\r\n$-1\r\n"), drainOutbound());
  }

  @Test
  void aLargeFrameGoesOutAsItIsAfterWhatCameBeforeIt() {
    writer.write(frame("+a\r\n"));
    writer.write(frame("+b\r\n"));
    ByteBuf large = frame(WriteCoalescer.SMALL_FRAME + 1, 'x');
    writer.write(large);
    writer.write(frame("+c\r\n"));
    writer.flush();
    ByteBuf first = channel.readOutbound();
    assertEquals("+a\r\n+b\r\n", first.toString(US_ASCII));
    first.release();
    ByteBuf second = channel.readOutbound();
    assertSame(large, second, "a large frame is not copied");
    second.release();
    assertEquals(List.of("+c\r\n"), drainOutbound());
  }

  @Test
  void aBurstLargerThanTheLimitIsSplitWithoutReordering() {
    StringBuilder expected = new StringBuilder();
    int frames = 3 * WriteCoalescer.MAX_GATHERED / WriteCoalescer.SMALL_FRAME + 5;
    for (int i = 0; i < frames; i++) {
      ByteBuf f = frame(WriteCoalescer.SMALL_FRAME, (char) ('a' + i % 26));
      expected.append(f.toString(US_ASCII));
      writer.write(f);
    }
    writer.flush();
    List<String> out = drainOutbound();
    assertTrue(out.size() >= 4, "split into messages of at most the limit: " + out.size());
    for (String message : out) {
      assertTrue(message.length() <= WriteCoalescer.MAX_GATHERED, "" + message.length());
    }
    assertEquals(expected.toString(), String.join("", out));
  }

  @Test
  void emitPutsWhatIsGatheredAheadOfADirectWrite() {
    writer.write(frame("+a\r\n"));
    writer.write(frame("+b\r\n"));
    writer.emit();
    channel.write(frame("+direct\r\n"));
    writer.flush();
    assertEquals(List.of("+a\r\n+b\r\n", "+direct\r\n"), drainOutbound());
  }

  @Test
  void discardReleasesWhatWasNeverWrittenAndLaterFramesPassThrough() {
    writer.write(frame("+held\r\n"));
    writer.discard();
    writer.write(frame("+a\r\n"));
    writer.write(frame("+b\r\n"));
    channel.flush();
    assertEquals(List.of("+a\r\n", "+b\r\n"), drainOutbound(), "after discard, one by one");

    WriteCoalescer gathering = new WriteCoalescer(channel, PooledByteBufAllocator.DEFAULT);
    gathering.write(frame("+c\r\n"));
    gathering.write(frame("+d\r\n"));
    gathering.discard(); // the gathered copy and both originals are released
    channel.flush();
    assertEquals(List.of(), drainOutbound());
  }

  @Test
  void withoutMemoryForTheCopyTheFramesGoOutUncopiedInOrder() {
    ByteBufAllocator exhausted = mock(ByteBufAllocator.class);
    when(exhausted.ioBuffer(anyInt(), anyInt())).thenThrow(new OutOfMemoryError("direct memory"));
    WriteCoalescer starved = new WriteCoalescer(channel, exhausted);
    ByteBuf a = frame("+a\r\n");
    ByteBuf b = frame("+b\r\n");
    starved.write(a);
    starved.write(b); // would copy both: the allocation fails, and nothing may be lost
    starved.write(frame("+c\r\n"));
    starved.flush();
    ByteBuf first = channel.readOutbound();
    assertSame(a, first);
    first.release();
    ByteBuf second = channel.readOutbound();
    assertSame(b, second);
    second.release();
    assertEquals(List.of("+c\r\n"), drainOutbound());
  }
}
