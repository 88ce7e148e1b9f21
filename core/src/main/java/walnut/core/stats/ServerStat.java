package walnut.core.stats;

/**
 * twemproxy's per-server stat fields, in the order the stats JSON prints them
 * (docs/compatibility.md#counters).
 */
public enum ServerStat {
  SERVER_EOF("server_eof", Type.COUNTER, "# eof on server connections"),
  SERVER_ERR("server_err", Type.COUNTER, "# errors on server connections"),
  SERVER_TIMEDOUT("server_timedout", Type.COUNTER, "# timeouts on server connections"),
  SERVER_CONNECTIONS("server_connections", Type.GAUGE, "# active server connections"),
  SERVER_EJECTED_AT("server_ejected_at", Type.TIMESTAMP,
      "timestamp when server was ejected in usec since epoch"),
  REQUESTS("requests", Type.COUNTER, "# requests"),
  REQUEST_BYTES("request_bytes", Type.COUNTER, "total request bytes"),
  RESPONSES("responses", Type.COUNTER, "# responses"),
  RESPONSE_BYTES("response_bytes", Type.COUNTER, "total response bytes"),
  IN_QUEUE("in_queue", Type.GAUGE, "# requests in incoming queue"),
  IN_QUEUE_BYTES("in_queue_bytes", Type.GAUGE, "current request bytes in incoming queue"),
  OUT_QUEUE("out_queue", Type.GAUGE, "# requests in outgoing queue"),
  OUT_QUEUE_BYTES("out_queue_bytes", Type.GAUGE, "current request bytes in outgoing queue");

  private final String field;
  private final Type type;
  private final String description;

  ServerStat(String field, Type type, String description) {
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
