package walnut.server;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds {@code ../shared/vectors} relative to the project root. */
final class Vectors {

  private Vectors() {}

  static Path dir() {
    String root = System.getProperty("walnut.root");
    if (root != null) {
      Path p = Path.of(root).resolve("../shared/vectors").normalize();
      if (Files.isDirectory(p)) {
        return p;
      }
    }
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path candidate = p.resolve("../shared/vectors").normalize();
      if (Files.isDirectory(candidate)) {
        return candidate;
      }
    }
    throw new IllegalStateException("../shared/vectors not found from " + Path.of("").toAbsolutePath());
  }
}
