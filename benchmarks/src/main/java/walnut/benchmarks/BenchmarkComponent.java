package walnut.benchmarks;

import dagger.Component;
import jakarta.inject.Singleton;
import walnut.core.plugin.CoreModule;
import walnut.core.plugin.PluginRegistry;
import walnut.hashing.HashingModule;
import walnut.redis.RedisModule;
import walnut.transport.epoll.EpollTransportModule;
import walnut.transport.nio.NioTransportModule;

/**
 * The plug-ins the benchmarks run with: Redis over NIO or epoll, every hash and distribution. The
 * same modules as the default assembly minus the ones the benchmarks do not use, so the module's
 * build does not wait on them.
 */
@Singleton
@Component(modules = {
    CoreModule.class,
    HashingModule.class,
    RedisModule.class,
    NioTransportModule.class,
    EpollTransportModule.class,
})
interface BenchmarkComponent {

  PluginRegistry plugins();

  static PluginRegistry create() {
    return DaggerBenchmarkComponent.create().plugins();
  }
}
