package walnut.server;

import java.nio.file.Path;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;
import walnut.core.plugin.PluginRegistry;
import walnut.server.config.ConfigException;
import walnut.server.config.NutcrackerConfigLoader;

/**
 * Loads nutcracker.yml and checks what the file alone cannot: that every hash, distribution and
 * protocol it names exists in this process (built in, or from a plug-in jar).
 */
final class ConfigCheck {

  private ConfigCheck() {}

  static ProxyConfig load(Path file, PluginRegistry plugins) throws InvalidConfigException {
    ProxyConfig config;
    try {
      // Names checked here get the file's line in their message; the protocol check below
      // remains for assemblies without a protocol module.
      config = NutcrackerConfigLoader.load(file, plugins.hashFunctions().keySet(),
          plugins.distributions().keySet());
    } catch (ConfigException e) {
      throw new InvalidConfigException(e.getMessage());
    }
    for (PoolConfig pool : config.pools()) {
      try {
        plugins.hashFunction(pool.hash());
        plugins.distribution(pool.distribution());
        plugins.protocol(pool.protocol());
      } catch (PluginRegistry.UnknownPluginException e) {
        throw new InvalidConfigException(file + ": pool '" + pool.name() + "': " + e.getMessage());
      }
    }
    return config;
  }

  /** The configuration cannot be served; the message says where and why. */
  static final class InvalidConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    InvalidConfigException(String message) {
      super(message);
    }
  }
}
