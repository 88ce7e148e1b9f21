package walnut.testing;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Whether a {@link SentinelTopology} has settled: every running sentinel agrees on each shard's
 * master, which runs and says so, sees its other instances as linked replicas, knows the other
 * sentinels, and (with a quorum running) passes {@code SENTINEL CKQUORUM}.
 */
final class SentinelHealth {

  private SentinelHealth() {}

  /**
   * What keeps {@code shards} (each a list of its instances) and the {@code running} sentinels
   * from being healthy, as {@link SentinelTopology#awaitHealthy} defines it, or null.
   */
  static String problem(Map<String, List<RedisServer>> shards, List<RedisServer> running) {
    if (running.isEmpty()) {
      return "no sentinel runs";
    }
    for (Map.Entry<String, List<RedisServer>> shard : shards.entrySet()) {
      String name = shard.getKey();
      Integer masterPort = null;
      for (RedisServer sentinel : running) {
        Map<String, String> master = fields(sentinel.command("SENTINEL", "MASTER", name));
        if (master == null) {
          return sentinel + " does not know " + name;
        }
        if (!"master".equals(master.get("flags"))) {
          return sentinel + " flags " + name + " " + master.get("flags");
        }
        int port = Integer.parseInt(master.get("port"));
        if (masterPort != null && masterPort != port) {
          return "sentinels disagree on " + name + "'s master: " + masterPort + " and " + port;
        }
        masterPort = port;
        if (!Integer.toString(SentinelTopology.SENTINELS - 1).equals(master.get("num-other-sentinels"))) {
          return sentinel + " knows " + master.get("num-other-sentinels") + " other sentinels";
        }
        Object replicas = sentinel.command("SENTINEL", "REPLICAS", name);
        for (RedisServer instance : shard.getValue()) {
          if (instance.port() == port || !instance.isRunning()) {
            continue;
          }
          if (!seenAsReplica(replicas, instance.port())) {
            return sentinel + " does not see " + instance + " as a usable replica: " + replicas;
          }
        }
      }
      int agreed = masterPort;
      RedisServer master =
          shard.getValue().stream().filter(r -> r.port() == agreed).findFirst().orElse(null);
      if (master == null || !master.isRunning()) {
        return name + "'s master on port " + agreed + " does not run";
      }
      Object role = master.command("ROLE");
      if (!(role instanceof List<?> r) || !"master".equals(r.get(0))) {
        return master + " (" + name + "'s master) says " + role;
      }
      boolean anyReplica = false;
      for (RedisServer instance : shard.getValue()) {
        if (instance.port() != agreed && instance.isRunning()) {
          String info = (String) instance.command("INFO", "replication");
          if (!info.contains("master_port:" + agreed + "\r\n")
              || !info.contains("master_link_status:up")) {
            return instance + " is not linked to " + master + ": " + info;
          }
          anyReplica = true;
        }
      }
      if (!anyReplica) {
        return name + " has no running replica";
      }
    }
    if (running.size() >= SentinelTopology.QUORUM) {
      for (String name : shards.keySet()) {
        Object quorum = running.get(0).command("SENTINEL", "CKQUORUM", name);
        if (!(quorum instanceof String s) || !s.startsWith("OK")) {
          return "CKQUORUM " + name + ": " + quorum;
        }
      }
    }
    return null;
  }

  private static boolean seenAsReplica(Object replicas, int port) {
    if (!(replicas instanceof List<?> list)) {
      return false;
    }
    for (Object entry : list) {
      Map<String, String> replica = fields(entry);
      if (replica != null
          && Integer.toString(port).equals(replica.get("port"))
          && "slave".equals(replica.get("flags"))) {
        return true;
      }
    }
    return false;
  }

  /** A sentinel's flat list of names and values as a map; null for anything else. */
  private static Map<String, String> fields(Object reply) {
    if (!(reply instanceof List<?> list) || list.size() % 2 != 0) {
      return null;
    }
    Map<String, String> fields = new HashMap<>();
    for (int i = 0; i < list.size(); i += 2) {
      fields.put(String.valueOf(list.get(i)), String.valueOf(list.get(i + 1)));
    }
    return fields;
  }
}
