package walnut.server.config;

import java.util.ArrayList;
import java.util.List;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.parser.ParserImpl;
import org.yaml.snakeyaml.reader.StreamReader;
import org.yaml.snakeyaml.scanner.ScannerImpl;
import org.yaml.snakeyaml.tokens.DirectiveToken;
import org.yaml.snakeyaml.tokens.Token;

/**
 * twemproxy's first two validation passes (docs/compatibility.md#accepted-yaml): the file is
 * well-formed YAML holding exactly one document, and it uses none of the tokens twemproxy refuses.
 *
 * <p>Order matters for which error a broken file reports, so it follows twemproxy's: syntax and
 * document count over the whole file first, then tokens, each stopping at the first problem.
 * Syntax is SnakeYAML's, corrected to libyaml's where the two treat tabs differently
 * ({@link LibyamlTabs}).
 */
final class YamlPrecheck {

  private YamlPrecheck() {}

  /** The file's parse events, once the file has passed both checks. */
  static List<Event> events(String yaml, String fileName) {
    Parsed parsed = parseAsLibyaml(yaml, fileName);
    int documents = 0;
    int extraLine = 0;
    for (Event event : parsed.events()) {
      if (event.is(Event.ID.DocumentStart) && ++documents == 2) {
        extraLine = line(event.getStartMark());
      }
    }
    if (documents != 1) {
      throw ConfigException.at(fileName, extraLine,
          "must contain only 1 document; found " + documents + " documents"
              + (documents == 0 ? " (the file defines no pools)"
                  : " (one file, one document: remove the '---' line)"));
    }
    checkTokens(parsed.text(), fileName);
    return parsed.events();
  }

  /** The events, and the text they came from once tabs libyaml skips became spaces. */
  private record Parsed(String text, List<Event> events) {}

  private static Parsed parseAsLibyaml(String yaml, String fileName) {
    String text = yaml;
    while (true) {
      try {
        List<Event> events = parse(text);
        int tab = LibyamlTabs.checkBlockScalars(text, events);
        if (tab > 0) {
          throw ConfigException.at(fileName, tab, "invalid YAML: found a tab character where an"
              + " indentation space is expected (indent block scalars with spaces)");
        }
        return new Parsed(text, events);
      } catch (MarkedYAMLException e) {
        // Each retry turns at least one tab into a space, so this ends.
        String tolerated = LibyamlTabs.separatingTab(text, e.getProblemMark());
        if (tolerated == null) {
          throw syntaxError(e, fileName);
        }
        text = tolerated;
      } catch (YAMLException e) {
        throw syntaxError(e, fileName);
      }
    }
  }

  private static List<Event> parse(String yaml) {
    List<Event> events = new ArrayList<>();
    ParserImpl parser = new ParserImpl(new StreamReader(yaml), options());
    Event event;
    do {
      event = parser.getEvent();
      events.add(event);
    } while (!event.is(Event.ID.StreamEnd));
    return events;
  }

  /** SnakeYAML's defaults, without its 3 MB size limit: libyaml has none. */
  private static LoaderOptions options() {
    LoaderOptions options = new LoaderOptions();
    options.setCodePointLimit(Integer.MAX_VALUE);
    return options;
  }

  private static void checkTokens(String yaml, String fileName) {
    ScannerImpl scanner = new ScannerImpl(new StreamReader(yaml), options());
    try {
      // checkToken() with no kinds asks "is there another token?" and makes the scanner read on.
      while (scanner.checkToken()) {
        Token token = scanner.getToken();
        String refusal = refusal(token);
        if (refusal != null) {
          throw ConfigException.at(fileName, line(token.getStartMark()), refusal);
        }
      }
    } catch (YAMLException e) {
      // The parse pass read the same text with the same scanner, so this is not expected.
      throw syntaxError(e, fileName);
    }
  }

  /** twemproxy's message for a refused token (libyaml's token number in brackets), else null. */
  private static String refusal(Token token) {
    switch (token.getTokenId()) {
      case StreamStart:
      case StreamEnd:
      case BlockSequenceStart:
      case BlockMappingStart:
      case BlockEnd:
      case BlockEntry:
      case Key:
      case Value:
      case Scalar:
        return null;
      case Directive:
        String name = ((DirectiveToken<?>) token).getName();
        if ("YAML".equals(name)) {
          return "version directive token (3) is disallowed (remove the %YAML line)";
        }
        if ("TAG".equals(name)) {
          return "tag directive token (4) is disallowed (remove the %TAG line)";
        }
        return "directive token '%" + name + "' is disallowed (remove the % line)";
      case DocumentStart:
        return "document start token (5) is disallowed (remove the '---' line)";
      case DocumentEnd:
        return "document end token (6) is disallowed (remove the '...' line)";
      case FlowSequenceStart:
        return "flow sequence start token (10) is disallowed" + FLOW_HINT;
      case FlowSequenceEnd:
        return "flow sequence end token (11) is disallowed" + FLOW_HINT;
      case FlowMappingStart:
        return "flow mapping start token (12) is disallowed" + FLOW_HINT;
      case FlowMappingEnd:
        return "flow mapping end token (13) is disallowed" + FLOW_HINT;
      case FlowEntry:
        return "flow entry token (15) is disallowed" + FLOW_HINT;
      case Alias:
        return "alias token (18) is disallowed (write the value out; aliases are not supported)";
      case Anchor:
        return "anchor token (19) is disallowed (remove the '&' anchor)";
      case Tag:
        return "tag token (20) is disallowed (remove the '!' tag)";
      default:
        return "unknown token (" + token.getTokenId() + ") is disallowed";
    }
  }

  private static final String FLOW_HINT = " (use block style; quote a value that starts with"
      + " '{' or '[', e.g. hash_tag: \"{}\")";

  private static ConfigException syntaxError(YAMLException e, String fileName) {
    if (e instanceof MarkedYAMLException) {
      MarkedYAMLException marked = (MarkedYAMLException) e;
      Mark mark = marked.getProblemMark() != null ? marked.getProblemMark()
          : marked.getContextMark();
      String problem = marked.getProblem() != null ? marked.getProblem() : marked.getContext();
      return ConfigException.at(fileName, mark == null ? 0 : line(mark),
          "invalid YAML: " + problem, e);
    }
    return ConfigException.at(fileName, 0, "invalid YAML: " + e.getMessage(), e);
  }

  static int line(Mark mark) {
    return mark.getLine() + 1;
  }
}
