package walnut.transport.nio;

import dagger.Binds;
import dagger.Module;
import dagger.multibindings.IntoMap;
import dagger.multibindings.StringKey;
import walnut.core.spi.Transport;

/** Registers the NIO transport. */
@Module
public interface NioTransportModule {

  @Binds
  @IntoMap
  @StringKey("nio")
  Transport nio(NioTransport transport);
}
