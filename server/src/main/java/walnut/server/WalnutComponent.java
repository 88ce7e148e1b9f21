package walnut.server;

import dagger.Component;
import jakarta.inject.Singleton;
import walnut.core.plugin.CoreModule;
import walnut.core.plugin.PluginRegistry;
import walnut.hashing.HashingModule;
import walnut.memcache.MemcacheModule;
import walnut.redis.RedisModule;
import walnut.transport.epoll.EpollTransportModule;
import walnut.transport.iouring.IoUringTransportModule;
import walnut.transport.nio.NioTransportModule;

/**
 * The default assembly: every built-in hash, distribution, protocol and transport. A smaller
 * proxy is a component with fewer modules (see the README); plug-in jars on the class path join
 * either way through {@link java.util.ServiceLoader}.
 */
@Singleton
@Component(modules = {
    CoreModule.class,
    HashingModule.class,
    RedisModule.class,
    MemcacheModule.class,
    NioTransportModule.class,
    EpollTransportModule.class,
    IoUringTransportModule.class,
})
public interface WalnutComponent {

  PluginRegistry plugins();

  static WalnutComponent create() {
    return DaggerWalnutComponent.create();
  }
}
