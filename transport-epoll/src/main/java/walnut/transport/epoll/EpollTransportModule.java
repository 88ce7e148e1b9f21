package walnut.transport.epoll;

import dagger.Binds;
import dagger.Module;
import dagger.multibindings.IntoMap;
import dagger.multibindings.StringKey;
import walnut.core.spi.Transport;

/** Registers the native epoll transport; it is used only where {@link EpollTransport} loads. */
@Module
public interface EpollTransportModule {

  @Binds
  @IntoMap
  @StringKey("epoll")
  Transport epoll(EpollTransport transport);
}
