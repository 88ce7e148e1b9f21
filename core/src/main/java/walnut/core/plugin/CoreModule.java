package walnut.core.plugin;

import dagger.Module;
import dagger.multibindings.Multibinds;
import java.util.Map;
import walnut.core.spi.Distribution;
import walnut.core.spi.HashFunction;
import walnut.core.spi.Protocol;
import walnut.core.spi.Transport;

/**
 * Declares the four plug-in maps, so an assembly that leaves out every module of one kind still
 * builds (and the registry then finds that kind only through {@link java.util.ServiceLoader}).
 */
@Module
public interface CoreModule {

  @Multibinds
  Map<String, HashFunction> hashFunctions();

  @Multibinds
  Map<String, Distribution> distributions();

  @Multibinds
  Map<String, Protocol> protocols();

  @Multibinds
  Map<String, Transport> transports();
}
