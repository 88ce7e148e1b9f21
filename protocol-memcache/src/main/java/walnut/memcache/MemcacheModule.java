package walnut.memcache;

import dagger.Binds;
import dagger.Module;
import dagger.multibindings.IntoMap;
import dagger.multibindings.StringKey;
import walnut.core.spi.Protocol;

/**
 * Registers the {@code memcache} protocol. The map key equals {@link MemcacheProtocol#name()}; the
 * plugin registry refuses a mismatch. The same class is listed in {@code META-INF/services} for
 * {@link java.util.ServiceLoader}.
 */
@Module
public interface MemcacheModule {

  @Binds @IntoMap @StringKey("memcache")
  Protocol memcache(MemcacheProtocol protocol);
}
