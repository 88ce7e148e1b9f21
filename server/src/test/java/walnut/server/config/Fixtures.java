package walnut.server.config;

import static org.junit.jupiter.api.Assertions.assertThrows;

import walnut.core.config.ProxyConfig;

/** Small YAML builders and a loader that needs no DNS. */
final class Fixtures {

  static final String FILE = "conf/nutcracker.yml";

  /** Resolves every host but the empty one, bracketed ones and {@code *.invalid} (RFC 6761). */
  static final HostResolver NO_DNS =
      host -> !host.isEmpty() && !host.startsWith("[") && !host.endsWith(".invalid");

  private Fixtures() {}

  static NutcrackerConfigLoader loader() {
    return new NutcrackerConfigLoader(NO_DNS, null, null);
  }

  static ProxyConfig load(String yaml) {
    return loader().readText(yaml, FILE);
  }

  static ConfigException reject(String yaml) {
    return assertThrows(ConfigException.class, () -> load(yaml));
  }

  /**
   * Pool {@code alpha} with a listen address on line 2, {@code lines} from line 3 on, then a
   * one-server list.
   */
  static String pool(String... lines) {
    StringBuilder yaml = new StringBuilder("alpha:\n  listen: 127.0.0.1:22121\n");
    for (String line : lines) {
      yaml.append("  ").append(line).append('\n');
    }
    return yaml.append("  servers:\n   - 127.0.0.1:6379:1\n").toString();
  }

  /** Pool {@code alpha} listening on 127.0.0.1:22121 with these server lines from line 4 on. */
  static String servers(String... lines) {
    StringBuilder yaml = new StringBuilder("alpha:\n  listen: 127.0.0.1:22121\n  servers:\n");
    for (String line : lines) {
      yaml.append("   - ").append(line).append('\n');
    }
    return yaml.toString();
  }
}
