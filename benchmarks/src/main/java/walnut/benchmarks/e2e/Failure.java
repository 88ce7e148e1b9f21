package walnut.benchmarks.e2e;

/** An expected failure of the end-to-end run: the message says what to do, no stack trace. */
final class Failure extends RuntimeException {
  Failure(String message) {
    super(message);
  }
}
