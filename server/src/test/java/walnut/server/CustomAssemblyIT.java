package walnut.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dagger.Component;
import jakarta.inject.Singleton;
import java.util.List;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.Jedis;
import walnut.core.config.ProxyConfig;
import walnut.core.plugin.CoreModule;
import walnut.core.plugin.PluginRegistry;
import walnut.core.plugin.TransportSelector;
import walnut.core.proxy.EngineOptions;
import walnut.core.proxy.ProxyServer;
import walnut.hashing.HashingModule;
import walnut.redis.RedisModule;
import walnut.testing.RedisServer;
import walnut.testing.SingleTransport;
import walnut.transport.nio.NioTransportModule;

/** A user's own, smaller assembly — Redis over NIO only — as the README shows it. */
@SingleTransport
class CustomAssemblyIT {

  @Singleton
  @Component(modules = {CoreModule.class, HashingModule.class, RedisModule.class,
      NioTransportModule.class})
  interface RedisOverNio {
    PluginRegistry plugins();
  }

  @Test
  void aProxyAssembledFromChosenModulesServesRequests() throws Exception {
    try (RedisServer a = RedisServer.start(); RedisServer b = RedisServer.start()) {
      PluginRegistry plugins = DaggerCustomAssemblyIT_RedisOverNio.create().plugins();
      ProxyConfig config = ProxyConfig.of(ProxyFixture.redisPool(List.of(a, b)).build());
      try (ProxyServer proxy = ProxyServer.start(config, plugins,
              TransportSelector.select(plugins, "nio"), EngineOptions.threads(1));
          Jedis jedis = new Jedis("127.0.0.1", proxy.port("test"), 30_000)) {
        for (int i = 0; i < 100; i++) {
          assertEquals("OK", jedis.set("assembly:" + i, "v" + i));
        }
        for (int i = 0; i < 100; i++) {
          assertEquals("v" + i, jedis.get("assembly:" + i));
        }
        assertEquals("nio", proxy.transport().name());
      }
    }
  }
}
