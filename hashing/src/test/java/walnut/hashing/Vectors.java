package walnut.hashing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import walnut.testing.GoldenVectors;

/**
 * Reads the golden files of the repository's {@code vectors/} (tab-separated, one header line, hex
 * keys), found by {@link GoldenVectors}.
 */
final class Vectors {

  private static final Path DIR = GoldenVectors.dir();

  private Vectors() {}

  static Path dir() {
    return DIR;
  }

  static Path file(String name) {
    return DIR.resolve(name);
  }

  /** The data rows of {@code file} (header dropped), each split on tabs keeping empty fields. */
  static List<String[]> rows(Path file) {
    try (Stream<String> lines = Files.lines(file)) {
      return lines.skip(1).filter(line -> !line.isEmpty()).map(line -> line.split("\t", -1))
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static List<String[]> rows(String name) {
    return rows(file(name));
  }

  /** The column names of {@code name}'s header line. */
  static List<String> header(String name) {
    try (Stream<String> lines = Files.lines(file(name))) {
      return List.of(lines.findFirst().orElseThrow().split("\t", -1));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Files in {@code dir} (relative to the vectors folder) whose names match {@code glob}. */
  static List<Path> files(String dir, String glob) {
    List<Path> found = new ArrayList<>();
    try (var stream = Files.newDirectoryStream(DIR.resolve(dir), glob)) {
      stream.forEach(found::add);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    found.sort(null);
    return found;
  }

  static byte[] hex(String hex) {
    byte[] bytes = new byte[hex.length() / 2];
    for (int i = 0; i < bytes.length; i++) {
      bytes[i] = (byte) Integer.parseInt(hex, 2 * i, 2 * i + 2, 16);
    }
    return bytes;
  }

  /** An unsigned 32-bit decimal as twemproxy prints it, carried in an int. */
  static int u32(String decimal) {
    return Integer.parseUnsignedInt(decimal);
  }
}
