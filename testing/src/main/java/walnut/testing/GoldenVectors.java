package walnut.testing;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the repository's {@code vectors/} folder: the golden data recorded from twemproxy 0.5.0
 * (its {@code README.md} says what each file holds). Every test that reads golden data goes
 * through here, so there is one rule for where the data lives.
 *
 * <p>The folder is {@code <walnut.root>/vectors}, where the system property {@code walnut.root} is
 * the repository root (the parent pom sets it to the Maven root for Surefire and Failsafe). If
 * that property is missing, or names a module folder (Maven run inside a module), the nearest
 * {@code vectors/} holding a {@code README.md} above it, or else above the working directory (a
 * test run from an IDE), is taken.
 */
public final class GoldenVectors {

  /** The system property holding the repository root. */
  public static final String ROOT_PROPERTY = "walnut.root";

  private static final String MARKER = "README.md";

  private static volatile Path dir;

  private GoldenVectors() {}

  /**
   * The {@code vectors/} folder, as an absolute path.
   *
   * @throws IllegalStateException if it cannot be found, naming where it was looked for
   */
  public static Path dir() {
    Path found = dir;
    if (found == null) {
      found = locate(System.getProperty(ROOT_PROPERTY), Path.of("").toAbsolutePath());
      dir = found;
    }
    return found;
  }

  /**
   * A file or folder inside {@code vectors/}, e.g. {@code "hashes.tsv"} or {@code "placement"}.
   *
   * @throws IllegalStateException if {@code vectors/} cannot be found or {@code name} is not in it
   */
  public static Path file(String name) {
    Path file = dir().resolve(name).normalize();
    if (!file.startsWith(dir()) || !Files.exists(file)) {
      throw new IllegalStateException("no " + name + " in the golden vectors folder " + dir());
    }
    return file;
  }

  /** The lookup itself, with its inputs passed in so it can be tested. */
  static Path locate(String root, Path workingDir) {
    if (root != null && !root.isBlank()) {
      Path found = nearest(Path.of(root));
      if (found != null) {
        return found;
      }
    }
    Path found = nearest(workingDir);
    if (found != null) {
      return found;
    }
    throw new IllegalStateException("golden vectors not found: no folder holding vectors/"
        + MARKER + " at or above " + (root == null || root.isBlank() ? "" : ROOT_PROPERTY + "="
        + root + " or ") + "the working directory " + workingDir.toAbsolutePath()
        + "; run the tests inside the Walnut repository or pass -D" + ROOT_PROPERTY
        + "=<repository root>");
  }

  /** {@code vectors/} in {@code start} or the nearest folder above it that has one, or null. */
  private static Path nearest(Path start) {
    for (Path d = start.toAbsolutePath().normalize(); d != null; d = d.getParent()) {
      Path candidate = d.resolve("vectors");
      if (Files.isRegularFile(candidate.resolve(MARKER))) {
        return candidate;
      }
    }
    return null;
  }
}
