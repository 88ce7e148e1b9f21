package walnut.core.plugin;

import com.google.common.collect.ImmutableSortedMap;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;
import java.util.function.Function;
import walnut.core.spi.Distribution;
import walnut.core.spi.HashFunction;
import walnut.core.spi.Protocol;
import walnut.core.spi.Transport;

/**
 * Every hash function, distribution, protocol and transport this process knows, by name.
 *
 * <p>Built-ins arrive through Dagger map multibindings; third-party jars through
 * {@link ServiceLoader} ({@code META-INF/services/walnut.core.spi.HashFunction} and the like). The
 * registry merges both in one place: the same class found both ways counts once, two different
 * classes claiming one name fail with both classes and their jars named, and a Dagger map key that
 * differs from the plug-in's own {@code name()} is refused. Immutable once built.
 */
@Singleton
public final class PluginRegistry {

  private final Map<String, HashFunction> hashFunctions;
  private final Map<String, Distribution> distributions;
  private final Map<String, Protocol> protocols;
  private final Map<String, Transport> transports;

  @Inject
  public PluginRegistry(Map<String, HashFunction> hashFunctions,
      Map<String, Distribution> distributions, Map<String, Protocol> protocols,
      Map<String, Transport> transports) {
    this(hashFunctions, distributions, protocols, transports,
        Thread.currentThread().getContextClassLoader());
  }

  /** Merges the given built-ins with the plug-ins {@code loader} finds. */
  public PluginRegistry(Map<String, HashFunction> hashFunctions,
      Map<String, Distribution> distributions, Map<String, Protocol> protocols,
      Map<String, Transport> transports, ClassLoader loader) {
    this.hashFunctions = merge("hash", HashFunction.class, hashFunctions, HashFunction::name, loader);
    this.distributions =
        merge("distribution", Distribution.class, distributions, Distribution::name, loader);
    this.protocols = merge("protocol", Protocol.class, protocols, Protocol::name, loader);
    this.transports = merge("transport", Transport.class, transports, Transport::name, loader);
  }

  private static <T> Map<String, T> merge(String kind, Class<T> type, Map<String, T> builtIns,
      Function<T, String> name, ClassLoader loader) {
    Map<String, T> all = new TreeMap<>();
    builtIns.forEach((key, plugin) -> {
      if (!key.equals(name.apply(plugin))) {
        throw new IllegalStateException(kind + " " + plugin.getClass().getName()
            + " is bound as '" + key + "' but calls itself '" + name.apply(plugin) + "'");
      }
      all.put(key, plugin);
    });
    for (T plugin : ServiceLoader.load(type, loader)) {
      String key = name.apply(plugin);
      T existing = all.get(key);
      if (existing == null) {
        all.put(key, plugin);
      } else if (existing.getClass() != plugin.getClass()) {
        throw new IllegalStateException(kind + " '" + key + "' is provided twice: by "
            + describe(existing) + " and by " + describe(plugin));
      }
    }
    return ImmutableSortedMap.copyOf(all);
  }

  private static String describe(Object plugin) {
    var source = plugin.getClass().getProtectionDomain().getCodeSource();
    return plugin.getClass().getName() + " (" + (source == null ? "built in" : source.getLocation())
        + ")";
  }

  public Map<String, HashFunction> hashFunctions() {
    return hashFunctions;
  }

  public Map<String, Distribution> distributions() {
    return distributions;
  }

  public Map<String, Protocol> protocols() {
    return protocols;
  }

  public Map<String, Transport> transports() {
    return transports;
  }

  /** The hash named {@code name}; the message lists the known names when there is none. */
  public HashFunction hashFunction(String name) {
    return lookup("hash", hashFunctions, name);
  }

  public Distribution distribution(String name) {
    return lookup("distribution", distributions, name);
  }

  public Protocol protocol(String name) {
    return lookup("protocol", protocols, name);
  }

  public Transport transport(String name) {
    return lookup("transport", transports, name);
  }

  private static <T> T lookup(String kind, Map<String, T> map, String name) {
    T plugin = map.get(name);
    if (plugin == null) {
      throw new UnknownPluginException(kind + ": '" + name + "' is unknown (known: "
          + String.join(", ", map.keySet()) + ")");
    }
    return plugin;
  }

  /** A config named a plug-in this process does not have. */
  public static final class UnknownPluginException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    UnknownPluginException(String message) {
      super(message);
    }
  }
}
