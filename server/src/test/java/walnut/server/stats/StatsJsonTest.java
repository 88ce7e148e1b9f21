package walnut.server.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import walnut.core.stats.Counters;
import walnut.core.stats.PoolStat;
import walnut.core.stats.ProxyStats;
import walnut.core.stats.ServerStat;

class StatsJsonTest {

  @Test
  void rendersTwemproxysExactLayout() {
    Counters<ServerStat> a = new Counters<>(ServerStat.class);
    Counters<ServerStat> b = new Counters<>(ServerStat.class);
    b.increment(ServerStat.SERVER_CONNECTIONS);
    b.increment(ServerStat.REQUESTS);
    b.add(ServerStat.REQUEST_BYTES, 20);
    b.increment(ServerStat.RESPONSES);
    b.add(ServerStat.RESPONSE_BYTES, 5);
    Counters<PoolStat> aa = new Counters<>(PoolStat.class);
    aa.increment(PoolStat.CLIENT_EOF);
    Counters<PoolStat> zz = new Counters<>(PoolStat.class);
    zz.add(PoolStat.CLIENT_EOF, 2);
    ProxyStats stats = new ProxyStats(List.of(
        new ProxyStats.Pool("aa", aa, List.of(new ProxyStats.Server("127.0.0.2", a),
            new ProxyStats.Server("127.0.0.3", b))),
        new ProxyStats.Pool("zz", zz, List.of(
            new ProxyStats.Server("srvA", new Counters<>(ServerStat.class))))));
    for (int i = 0; i < 8; i++) {
      stats.connectionOpened();
    }
    for (int i = 0; i < 3; i++) {
      stats.connectionClosed();
    }
    long now = stats.startMillis() + 2_500;
    String zero = "\"server_eof\":0, \"server_err\":0, \"server_timedout\":0, "
        + "\"server_connections\":0, \"server_ejected_at\":0, \"requests\":0, "
        + "\"request_bytes\":0, \"responses\":0, \"response_bytes\":0, \"in_queue\":0, "
        + "\"in_queue_bytes\":0, \"out_queue\":0, \"out_queue_bytes\":0";
    String expected = "{\"service\":\"nutcracker\", \"source\":\"vm\", \"version\":\"0.5.0\", "
        + "\"uptime\":2, \"timestamp\":" + now / 1000 + ", \"total_connections\":8, "
        + "\"curr_connections\":5, \"aa\": {\"client_eof\":1, \"client_err\":0, "
        + "\"client_connections\":0, \"server_ejects\":0, \"forward_error\":0, \"fragments\":0, "
        + "\"127.0.0.2\": {" + zero + "},\"127.0.0.3\": {\"server_eof\":0, \"server_err\":0, "
        + "\"server_timedout\":0, \"server_connections\":1, \"server_ejected_at\":0, "
        + "\"requests\":1, \"request_bytes\":20, \"responses\":1, \"response_bytes\":5, "
        + "\"in_queue\":0, \"in_queue_bytes\":0, \"out_queue\":0, \"out_queue_bytes\":0}},"
        + "\"zz\": {\"client_eof\":2, \"client_err\":0, \"client_connections\":0, "
        + "\"server_ejects\":0, \"forward_error\":0, \"fragments\":0, \"srvA\": {" + zero
        + "}}}\n";
    assertEquals(expected, StatsJson.render(stats, "vm", now));
  }
}
