package walnut.benchmarks.e2e;

/** The end-to-end run's progress lines, on standard output as they happen. */
final class Console {

  private Console() {}

  static void say(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
