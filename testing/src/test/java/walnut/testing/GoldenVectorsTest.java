package walnut.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GoldenVectorsTest {

  @TempDir
  Path tmp;

  private Path repo() throws IOException {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    Files.createDirectories(repo.resolve("vectors"));
    Files.writeString(repo.resolve("vectors/README.md"), "golden\n");
    Files.createDirectories(repo.resolve("server/src"));
    return repo;
  }

  @Test
  void theRepositoryRootPropertyWins() throws IOException {
    Path repo = repo();
    assertEquals(repo.resolve("vectors"), GoldenVectors.locate(repo.toString(), tmp));
  }

  @Test
  void aModuleFolderAsRootFindsTheFolderAbove() throws IOException {
    Path repo = repo();
    assertEquals(repo.resolve("vectors"),
        GoldenVectors.locate(repo.resolve("server").toString(), tmp));
  }

  @Test
  void withoutTheRootPropertyTheWorkingDirectoryIsWalkedUp() throws IOException {
    Path repo = repo();
    assertEquals(repo.resolve("vectors"), GoldenVectors.locate(null, repo.resolve("server/src")));
  }

  @Test
  void aVectorsFolderWithoutItsReadmeIsNotTaken() throws IOException {
    Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere/vectors"));
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> GoldenVectors.locate(elsewhere.getParent().toString(), elsewhere.getParent()));
    assertTrue(e.getMessage().contains("vectors/README.md"), e.getMessage());
    assertTrue(e.getMessage().contains("walnut.root"), e.getMessage());
  }

  @Test
  void thisRepositoryHasItsVectors() {
    assertTrue(Files.isRegularFile(GoldenVectors.file("hashes.tsv")));
    assertTrue(Files.isDirectory(GoldenVectors.file("placement")));
    assertThrows(IllegalStateException.class, () -> GoldenVectors.file("no-such-file.tsv"));
  }
}
