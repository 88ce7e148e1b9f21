package walnut.server.config;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.DumperOptions.ScalarStyle;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.events.ScalarEvent;

/**
 * Where twemproxy's libyaml and SnakeYAML disagree about tab characters, libyaml's reading wins,
 * since the same files must be accepted and refused (found by running both on thousands of
 * mutated files):
 *
 * <ul>
 *   <li>libyaml skips tabs between tokens once a simple key's {@code :}, a quoted scalar, an
 *       anchor, tag or alias, or a block scalar header has been read ({@code listen:\t1.2.3.4:1}
 *       is fine); SnakeYAML stops there. {@link #separatingTab} turns such a run of blanks into
 *       spaces, which changes no value and no indentation.
 *   <li>libyaml refuses a tab in the indentation of a block scalar's lines ("found a tab
 *       character where an indentation space is expected"); SnakeYAML keeps it as content.
 *       {@link #checkBlockScalars} refuses it.
 * </ul>
 */
final class LibyamlTabs {

  private static final Pattern BLOCK_HEADER = Pattern.compile("[|>][1-9+-]{0,2}");

  private LibyamlTabs() {}

  /**
   * {@code text} with the blanks around the tab at code point {@code mark} made spaces, when
   * libyaml would have skipped that tab; null when libyaml refuses it too.
   */
  static String separatingTab(String text, Mark mark) {
    if (mark == null || mark.getIndex() >= text.codePointCount(0, text.length())) {
      return null;
    }
    int at = text.offsetByCodePoints(0, mark.getIndex());
    if (text.charAt(at) != '\t') {
      return null;
    }
    int start = at;
    while (start > 0 && isBlank(text.charAt(start - 1))) {
      start--;
    }
    int end = at;
    while (end < text.length() && isBlank(text.charAt(end))) {
      end++;
    }
    int lineStart = start;
    while (lineStart > 0 && !isBreak(text.charAt(lineStart - 1))) {
      lineStart--;
    }
    String before = text.substring(lineStart, start).stripLeading();
    if (!skipsTabsAfter(before)) {
      return null;
    }
    StringBuilder fixed = new StringBuilder(text);
    for (int i = start; i < end; i++) {
      fixed.setCharAt(i, ' ');
    }
    return fixed.toString();
  }

  /** Whether libyaml, having read the line so far ({@code before}), skips a following tab. */
  private static boolean skipsTabsAfter(String before) {
    if (before.isEmpty()) {
      return false; // indentation
    }
    char last = before.charAt(before.length() - 1);
    if (last == ':') {
      return before.length() > 1; // a lone ':' starts the value of a complex key: no tabs
    }
    if (last == '"' || last == '\'') {
      return true; // a plain scalar would have taken the tab in; this is a closing quote
    }
    String word = before.substring(Math.max(before.lastIndexOf(' '), before.lastIndexOf('\t'))
        + 1);
    return BLOCK_HEADER.matcher(word).matches() || word.startsWith("&")
        || word.startsWith("!") || word.startsWith("*");
  }

  /**
   * Refuses a tab where libyaml expects a block scalar's indentation spaces: on the lines before
   * the indentation is known, and left of the indentation afterwards.
   *
   * @return the 1-based line of the first such tab, or 0
   */
  static int checkBlockScalars(String text, List<Event> events) {
    List<String> lines = lines(text);
    Deque<Integer> indents = new ArrayDeque<>(); // columns of the open collections
    for (Event event : events) {
      if (event.is(Event.ID.MappingStart) || event.is(Event.ID.SequenceStart)) {
        indents.push(event.getStartMark().getColumn());
      } else if (event.is(Event.ID.MappingEnd) || event.is(Event.ID.SequenceEnd)) {
        indents.pop();
      } else if (event instanceof ScalarEvent scalar
          && (scalar.getScalarStyle() == ScalarStyle.LITERAL
              || scalar.getScalarStyle() == ScalarStyle.FOLDED)) {
        int parent = indents.isEmpty() ? -1 : indents.peek();
        int bad = blockScalarTab(lines, scalar.getStartMark(), parent);
        if (bad > 0) {
          return bad;
        }
      }
    }
    return 0;
  }

  /** libyaml's {@code yaml_parser_scan_block_scalar} indentation handling, on lines. */
  private static int blockScalarTab(List<String> lines, Mark header, int parent) {
    String head = lines.get(header.getLine());
    int increment = 0;
    for (int i = header.getColumn() + 1; i < head.length() && i <= header.getColumn() + 2; i++) {
      if (head.charAt(i) >= '1' && head.charAt(i) <= '9') {
        increment = head.charAt(i) - '0';
      }
    }
    int indent = increment > 0 ? (parent >= 0 ? parent + increment : increment) : 0;
    int line = header.getLine() + 1;
    int maxIndent = 0;
    int column = 0;
    // Leading empty lines and the first content line decide an indentation not given.
    for (; line < lines.size(); line++) {
      String text = lines.get(line);
      column = spaces(text, indent);
      maxIndent = Math.max(maxIndent, column);
      if (column < text.length() && text.charAt(column) == '\t'
          && (indent == 0 || column < indent)) {
        return line + 1;
      }
      if (column < text.length()) {
        break;
      }
    }
    if (indent == 0) {
      indent = Math.max(Math.max(maxIndent, parent + 1), 1);
    }
    // Content lines go on while they reach the indentation; empty lines in between may not
    // hold a tab left of it.
    while (line < lines.size() && column == indent) {
      for (line++; line < lines.size(); line++) {
        String text = lines.get(line);
        column = spaces(text, indent);
        if (column < indent && column < text.length() && text.charAt(column) == '\t') {
          return line + 1;
        }
        if (column < text.length()) {
          break;
        }
      }
    }
    return 0;
  }

  /** Leading spaces of {@code text}, counting at most {@code limit} of them (0: no limit). */
  private static int spaces(String text, int limit) {
    int column = 0;
    while (column < text.length() && text.charAt(column) == ' '
        && (limit == 0 || column < limit)) {
      column++;
    }
    return column;
  }

  /** The text's lines as YAML 1.1 counts them (CR LF, CR, LF, NEL, LS and PS end a line). */
  private static List<String> lines(String text) {
    List<String> lines = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (isBreak(c)) {
        lines.add(text.substring(start, i));
        if (c == '\r' && i + 1 < text.length() && text.charAt(i + 1) == '\n') {
          i++;
        }
        start = i + 1;
      }
    }
    lines.add(text.substring(start));
    return lines;
  }

  private static boolean isBlank(char c) {
    return c == ' ' || c == '\t';
  }

  private static boolean isBreak(char c) {
    return c == '\n' || c == '\r' || c == '\u0085' || c == '\u2028' || c == '\u2029';
  }
}
