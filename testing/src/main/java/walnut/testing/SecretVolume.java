package walnut.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Certificate files replaced the two ways deployments replace them, for rotation tests: {@link
 * #replaceByRename} (write a temporary file beside the target, then rename it over the target) and
 * a directory laid out and updated as Kubernetes updates a mounted secret.
 *
 * <p>The Kubernetes layout (kubelet's {@code AtomicWriter}): the files live in a hidden timestamped
 * directory {@code ..2026_01_31_12_00_00.1}; {@code ..data} is a symlink to it; each visible file
 * {@code name} is a symlink {@code name -> ..data/name}. {@link #update} writes a new timestamped
 * directory, points a new symlink {@code ..data_tmp} at it, renames that over {@code ..data} (the
 * one atomic step) and deletes the old directory. The visible symlinks are never touched, so a
 * watcher of {@code name} itself sees no event: only the paths of {@link #file} resolve to the new
 * content.
 *
 * <p>Not thread-safe: one writer at a time, as with kubelet; readers may read at any moment and see
 * either the old or the new set of files, never a mix.
 */
public final class SecretVolume implements AutoCloseable {
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyy_MM_dd_HH_mm_ss");
  private static final AtomicLong sequence = new AtomicLong();

  private final Path dir;

  private SecretVolume(Path dir) {
    this.dir = dir;
  }

  /**
   * A new volume in a fresh temporary directory holding a copy of each {@code files} value under
   * its key, e.g. {@code Map.of("tls.crt", pki.server().cert(), "tls.key", pki.server().key())}.
   */
  public static SecretVolume create(Map<String, Path> files) {
    Path dir;
    try {
      dir = Files.createTempDirectory("walnut-secret-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create a secret volume", e);
    }
    SecretVolume volume = new SecretVolume(dir);
    try {
      Path data = volume.writeTimestamped(files);
      Files.createSymbolicLink(dir.resolve("..data"), data.getFileName());
      for (String name : files.keySet()) {
        Files.createSymbolicLink(dir.resolve(name), Path.of("..data", name));
      }
      return volume;
    } catch (IOException | RuntimeException e) {
      volume.close();
      throw e instanceof IOException io
          ? new UncheckedIOException("cannot lay out a secret volume in " + dir, io)
          : (RuntimeException) e;
    }
  }

  /** The volume's directory, what a pod would mount; gone after {@link #close()}. */
  public Path directory() {
    return dir;
  }

  /** The visible path of {@code name}: a symlink through {@code ..data}, stable across updates. */
  public Path file(String name) {
    return dir.resolve(name);
  }

  /**
   * Replaces the content of every file at once, as kubelet does (see the class comment); {@code
   * files} must name the same files as {@link #create}.
   */
  public void update(Map<String, Path> files) {
    try {
      Path data = dir.resolve("..data");
      Path old = dir.resolve(Files.readSymbolicLink(data));
      Path fresh = writeTimestamped(files);
      Path next = dir.resolve("..data_tmp");
      Files.createSymbolicLink(next, fresh.getFileName());
      Files.move(next, data, StandardCopyOption.ATOMIC_MOVE);
      ServerProcess.deleteRecursively(old);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot update the secret volume " + dir, e);
    }
  }

  /**
   * Replaces {@code target} with a copy of {@code source} by one rename: the copy is written to a
   * temporary file in {@code target}'s directory first, so a reader sees the old file or the new
   * one whole, and one that has the old file open keeps reading the old content.
   */
  public static void replaceByRename(Path target, Path source) {
    Path parent = target.toAbsolutePath().getParent();
    Path temporary = null;
    try {
      temporary = Files.createTempFile(parent, "." + target.getFileName() + ".", ".tmp");
      Files.copy(source, temporary, StandardCopyOption.REPLACE_EXISTING);
      Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      try {
        if (temporary != null) {
          Files.deleteIfExists(temporary);
        }
      } catch (IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw new UncheckedIOException("cannot replace " + target + " with " + source, e);
    }
  }

  /** Deletes the directory and everything in it. Idempotent. */
  @Override
  public void close() {
    ServerProcess.deleteRecursively(dir);
  }

  private Path writeTimestamped(Map<String, Path> files) throws IOException {
    String name =
        ".." + ZonedDateTime.now(ZoneOffset.UTC).format(STAMP) + "." + sequence.incrementAndGet();
    Path data = Files.createDirectory(dir.resolve(name));
    for (Map.Entry<String, Path> file : files.entrySet()) {
      Files.copy(file.getValue(), data.resolve(file.getKey()));
    }
    return data;
  }
}
