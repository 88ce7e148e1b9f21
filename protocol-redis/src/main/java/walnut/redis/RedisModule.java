package walnut.redis;

import dagger.Binds;
import dagger.Module;
import dagger.multibindings.IntoMap;
import dagger.multibindings.StringKey;
import walnut.core.spi.Protocol;

/**
 * Registers the {@code redis} protocol. The map key equals {@link RedisProtocol#name()}; the
 * plugin registry refuses a mismatch. The same class is listed in {@code META-INF/services} for
 * {@link java.util.ServiceLoader}.
 */
@Module
public interface RedisModule {

  @Binds @IntoMap @StringKey("redis")
  Protocol redis(RedisProtocol protocol);
}
