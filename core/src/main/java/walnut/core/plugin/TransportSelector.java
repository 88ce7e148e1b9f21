package walnut.core.plugin;

import java.util.Comparator;
import java.util.stream.Collectors;
import walnut.core.spi.Transport;

/**
 * Chooses the I/O engine: {@code auto} takes the available transport with the highest
 * preference; a named one must exist and be available, else start-up fails with its cause.
 */
public final class TransportSelector {

  public static final String AUTO = "auto";

  private TransportSelector() {}

  public static Transport select(PluginRegistry plugins, String name) {
    if (AUTO.equals(name)) {
      return plugins.transports().values().stream()
          .filter(Transport::isAvailable)
          .max(Comparator.comparingInt(Transport::preference))
          .orElseThrow(() -> new IllegalStateException("no transport is available ("
              + plugins.transports().values().stream()
                  .map(t -> t.name() + ": " + t.unavailabilityCause())
                  .collect(Collectors.joining("; ")) + ")"));
    }
    Transport transport = plugins.transport(name);
    if (!transport.isAvailable()) {
      throw new IllegalStateException("transport '" + name + "' is not available: "
          + transport.unavailabilityCause(), transport.unavailabilityCause());
    }
    return transport;
  }
}
