package walnut.core.stats;

/** How a stat field behaves, as twemproxy's {@code -D} describes it. */
public enum Type {
  /** Only goes up. */
  COUNTER,
  /** Goes up and down; the current level. */
  GAUGE,
  /** A point in time, microseconds since the epoch. */
  TIMESTAMP
}
