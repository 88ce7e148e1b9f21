package walnut.core.stats;

/**
 * twemproxy's per-pool stat fields, in the order the stats JSON prints them
 * (docs/compatibility.md#counters).
 */
public enum PoolStat {
  CLIENT_EOF("client_eof", Type.COUNTER, "# eof on client connections"),
  CLIENT_ERR("client_err", Type.COUNTER, "# errors on client connections"),
  CLIENT_CONNECTIONS("client_connections", Type.GAUGE, "# active client connections"),
  SERVER_EJECTS("server_ejects", Type.COUNTER, "# times backend server was ejected"),
  FORWARD_ERROR("forward_error", Type.COUNTER, "# times we encountered a forwarding error"),
  FRAGMENTS("fragments", Type.COUNTER, "# fragments created from a multi-vector request");

  private final String field;
  private final Type type;
  private final String description;

  PoolStat(String field, Type type, String description) {
    this.field = field;
    this.type = type;
    this.description = description;
  }

  /** The JSON field name. */
  public String field() {
    return field;
  }

  public Type type() {
    return type;
  }

  /** The text of {@code nutcracker -D}. */
  public String description() {
    return description;
  }
}
