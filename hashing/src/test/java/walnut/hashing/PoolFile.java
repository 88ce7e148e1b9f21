package walnut.hashing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;
import walnut.core.config.Endpoint;
import walnut.core.config.ServerConfig;

/**
 * The placement-relevant part of a vectors {@code .yml}: hash, distribution, hash tag and the
 * servers. Only the flat layout those files use is understood; YAML parsing proper belongs to
 * the {@code server} module, which this module cannot see.
 *
 * @param written the servers in the file's order ({@code server_index} of the vectors)
 * @param sorted the same servers in twemproxy's order, as a distribution receives them
 * @param fileIndexOf {@code fileIndexOf[p]} is the file position of {@code sorted.get(p)}
 */
record PoolFile(String hash, String distribution, String hashTag, List<ServerConfig> written,
    List<ServerConfig> sorted, int[] fileIndexOf) {

  static PoolFile read(Path yml) {
    List<String> lines;
    try {
      lines = Files.readAllLines(yml);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String hash = null;
    String distribution = null;
    String hashTag = null;
    List<ServerConfig> written = new ArrayList<>();
    for (String raw : lines) {
      String line = raw.strip();
      if (line.startsWith("hash:")) {
        hash = value(line);
      } else if (line.startsWith("distribution:")) {
        distribution = value(line);
      } else if (line.startsWith("hash_tag:")) {
        hashTag = value(line).replace("\"", "");
      } else if (line.startsWith("- ")) {
        written.add(server(line.substring(2).strip()));
      }
    }
    int[] order = IntStream.range(0, written.size()).boxed()
        .sorted(Comparator.comparing(i -> written.get(i).name(), ServerConfig.NAME_ORDER))
        .mapToInt(Integer::intValue).toArray();
    List<ServerConfig> sorted = IntStream.of(order).mapToObj(written::get).toList();
    return new PoolFile(hash, distribution, hashTag, List.copyOf(written), sorted, order);
  }

  private static String value(String line) {
    return line.substring(line.indexOf(':') + 1).strip();
  }

  /**
   * {@code host:port:weight [name]}, parsed from the right as twemproxy does
   * (docs/compatibility.md#server-lines-and-names).
   */
  static ServerConfig server(String line) {
    String name = null;
    int space = line.lastIndexOf(' ');
    if (space >= 0) {
      name = line.substring(space + 1);
      line = line.substring(0, space);
    }
    int weightColon = line.lastIndexOf(':');
    int weight = Integer.parseInt(line.substring(weightColon + 1));
    String hostPort = line.substring(0, weightColon);
    int portColon = hostPort.lastIndexOf(':');
    Endpoint endpoint = Endpoint.tcp(hostPort.substring(0, portColon),
        Integer.parseInt(hostPort.substring(portColon + 1)));
    return name == null ? ServerConfig.of(endpoint, weight)
        : new ServerConfig(name, endpoint, weight);
  }
}
