package walnut.server.config;

/**
 * A directive value that twemproxy refuses, with twemproxy's reason text ("is not a number").
 * The value parsers know nothing of files and lines; the caller adds them.
 */
final class BadValue extends Exception {

  private static final long serialVersionUID = 1L;

  BadValue(String reason) {
    super(reason, null, false, false);
  }

  String reason() {
    return getMessage();
  }
}
