package walnut.core.stats;

import java.util.concurrent.atomic.LongAdder;

/**
 * A fixed set of counters indexed by an enum's ordinal. Thread-safe: every event loop adds to
 * the same {@link LongAdder}s, which stripe under contention, and readers sum them.
 */
public final class Counters<E extends Enum<E>> {

  private final LongAdder[] adders;

  public Counters(Class<E> fields) {
    adders = new LongAdder[fields.getEnumConstants().length];
    for (int i = 0; i < adders.length; i++) {
      adders[i] = new LongAdder();
    }
  }

  public void increment(E field) {
    adders[field.ordinal()].increment();
  }

  public void decrement(E field) {
    adders[field.ordinal()].decrement();
  }

  public void add(E field, long delta) {
    adders[field.ordinal()].add(delta);
  }

  /** Replaces the value (for timestamps). Not atomic with concurrent adds; callers don't mix. */
  public void set(E field, long value) {
    LongAdder a = adders[field.ordinal()];
    a.reset();
    a.add(value);
  }

  public long get(E field) {
    return adders[field.ordinal()].sum();
  }
}
