package walnut.core.stats;

/**
 * Walnut's per-server counters of {@code health_check_interval}: the probes of an ejected server
 * and how they ended. The stats JSON prints them after twemproxy's fields, and only for the servers
 * of a pool that probes (docs/compatibility.md#failure-modes), so a twemproxy pool's document keeps
 * its layout.
 */
public enum HealthStat {
  HEALTH_PROBES("health_probes", Type.COUNTER, "# probes of an ejected server"),
  HEALTH_PROBE_FAILURES("health_probe_failures", Type.COUNTER,
      "# probes of an ejected server that failed"),
  HEALTH_RETURNS("health_returns", Type.COUNTER,
      "# times an ejected server returned after a probe succeeded");

  private final String field;
  private final Type type;
  private final String description;

  HealthStat(String field, Type type, String description) {
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
