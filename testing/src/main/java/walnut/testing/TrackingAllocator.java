package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * For decoder tests: an allocator that remembers every buffer it made, so a test can check that all of them were
 * released (a leak check that does not wait for the GC, unlike the paranoid detector), and the
 * largest backing array it ever allocated (to show that declared lengths allocate nothing).
 *
 * <p>{@link #unwatched()} makes one whose buffers Netty's leak detector does not wrap: the fuzz
 * test decodes millions of requests, and the paranoid detector's stack trace per buffer would cost
 * most of its time budget; its leak check is this class's, which is exact.
 */
public final class TrackingAllocator extends AbstractByteBufAllocator {

  private final List<ByteBuf> allocated = new ArrayList<>();
  private final List<ByteBuf> held = new ArrayList<>();
  private final boolean watched;
  private int largest;

  public TrackingAllocator() {
    this(true);
  }

  private TrackingAllocator(boolean watched) {
    super(false);
    this.watched = watched;
  }

  /** Buffers not wrapped by Netty's leak detector; check them with {@link #assertAllReleased}. */
  public static TrackingAllocator unwatched() {
    return new TrackingAllocator(false);
  }

  @Override
  protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
    ByteBuf b = new Tracked(initialCapacity, maxCapacity);
    allocated.add(b);
    return b;
  }

  @Override
  protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
    return newHeapBuffer(initialCapacity, maxCapacity);
  }

  @Override
  public ByteBuf heapBuffer(int initialCapacity, int maxCapacity) {
    return watched ? super.heapBuffer(initialCapacity, maxCapacity)
        : newHeapBuffer(initialCapacity, maxCapacity);
  }

  @Override
  public ByteBuf directBuffer(int initialCapacity, int maxCapacity) {
    return heapBuffer(initialCapacity, maxCapacity);
  }

  @Override
  public CompositeByteBuf compositeHeapBuffer(int maxNumComponents) {
    if (watched) {
      return super.compositeHeapBuffer(maxNumComponents);
    }
    CompositeByteBuf b = new CompositeByteBuf(this, false, maxNumComponents);
    allocated.add(b);
    return b;
  }

  @Override
  public CompositeByteBuf compositeDirectBuffer(int maxNumComponents) {
    return compositeHeapBuffer(maxNumComponents);
  }

  @Override
  public boolean isDirectBufferPooled() {
    return false;
  }

  /** A tracked buffer holding {@code bytes}. */
  public ByteBuf copyOf(byte[] bytes) {
    return heapBuffer(bytes.length).writeBytes(bytes);
  }

  /**
   * A tracked buffer holding {@code text}'s ISO-8859-1 bytes (a request or reply the test reads
   * from), released by {@link #releaseHeldAndAssertAllReleased}.
   */
  public ByteBuf held(String text) {
    ByteBuf b = copyOf(text.getBytes(StandardCharsets.ISO_8859_1));
    held.add(b);
    return b;
  }

  /** Releases what {@link #held} made, then fails unless every buffer was released. */
  public void releaseHeldAndAssertAllReleased() {
    held.forEach(ByteBuf::release);
    held.clear();
    assertAllReleased();
  }

  /** The largest backing array allocated so far. */
  public int largestArray() {
    return largest;
  }

  /** How many buffers it made. */
  public int count() {
    return allocated.size();
  }

  /** Fails unless every buffer it made has been released. */
  public void assertAllReleased() {
    for (int i = 0; i < allocated.size(); i++) {
      assertEquals(0, allocated.get(i).refCnt(), "buffer " + i + " of " + allocated.size()
          + " was not released");
    }
  }

  private final class Tracked extends UnpooledHeapByteBuf {
    Tracked(int initialCapacity, int maxCapacity) {
      super(TrackingAllocator.this, initialCapacity, maxCapacity);
    }

    @Override
    protected byte[] allocateArray(int initialCapacity) {
      largest = Math.max(largest, initialCapacity);
      return super.allocateArray(initialCapacity);
    }
  }
}
