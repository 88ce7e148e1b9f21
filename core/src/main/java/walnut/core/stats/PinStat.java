package walnut.core.stats;

/**
 * Walnut's per-server counters of private server connections ({@code max_pinned_connections}):
 * the connections a client holds alone for a transaction, a blocking command or a subscription.
 * The stats JSON prints them after twemproxy's fields for the servers of a pool that has taken or
 * refused one, so a twemproxy pool's document keeps its layout until then.
 */
public enum PinStat {
  PINNED_CONNECTIONS("pinned_connections", Type.GAUGE,
      "# private server connections held by clients now"),
  PINNED_TAKEN("pinned_taken", Type.COUNTER,
      "# times a client took a private server connection"),
  PINNED_REFUSED("pinned_refused", Type.COUNTER,
      "# requests refused because max_pinned_connections was reached");

  private final String field;
  private final Type type;
  private final String description;

  PinStat(String field, Type type, String description) {
    this.field = field;
    this.type = type;
    this.description = description;
  }

  public String field() {
    return field;
  }

  public Type type() {
    return type;
  }

  public String description() {
    return description;
  }
}
