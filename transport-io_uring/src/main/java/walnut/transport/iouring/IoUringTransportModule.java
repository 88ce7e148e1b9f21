package walnut.transport.iouring;

import dagger.Binds;
import dagger.Module;
import dagger.multibindings.IntoMap;
import dagger.multibindings.StringKey;
import walnut.core.spi.Transport;

/** Registers the native io_uring transport; it is used only where {@link IoUringTransport} loads. */
@Module
public interface IoUringTransportModule {

  @Binds
  @IntoMap
  @StringKey("io_uring")
  Transport ioUring(IoUringTransport transport);
}
