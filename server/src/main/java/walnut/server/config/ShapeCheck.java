package walnut.server.config;

import java.util.List;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.events.ScalarEvent;

/**
 * twemproxy's third validation pass (docs/compatibility.md#accepted-yaml): the root maps pool names
 * to mappings, and each pool mapping holds {@code key: scalar} pairs and exactly one {@code key:}
 * whose value is a list of scalars.
 *
 * <p>This is twemproxy's own state machine ({@code conf_validate_structure}: a depth and a scalar
 * count per depth) rather than a tree walk, on purpose: its odd corners decide which files are
 * accepted, and they must be the same. Which key holds the list is not checked here; twemproxy
 * dispatches every value by its key, list items included (see {@link NutcrackerConfigLoader}).
 *
 * <p>Walnut's one extension of the shape: a pool may hold a second list when its key is
 * {@code sentinels} (twemproxy's notes/redis.md planned it; 0.5.0 refuses it as "more than one
 * sequence directive").
 */
final class ShapeCheck {

  private static final int ROOT_DEPTH = 1;
  private static final int MAX_DEPTH = 2;

  private final String fileName;
  private int depth;
  private final int[] count = new int[MAX_DEPTH + 2];
  private boolean seq;
  /** The pool's {@code sentinels:} list was seen: the one list besides the required one. */
  private boolean sentinelSeq;
  /** The last key at depth 2, whose value comes next. */
  private String key;
  private String pool;
  private int poolLine;

  private ShapeCheck(String fileName) {
    this.fileName = fileName;
  }

  static void check(List<Event> events, String fileName) {
    ShapeCheck check = new ShapeCheck(fileName);
    for (Event event : events) {
      check.next(event);
    }
  }

  private void next(Event event) {
    int line = YamlPrecheck.line(event.getStartMark());
    switch (event.getEventId()) {
      case StreamStart:
      case DocumentStart:
      case DocumentEnd:
      case StreamEnd:
        return;
      case MappingStart:
        if (depth == ROOT_DEPTH && count[depth] != 1) {
          throw fail(line, "has more than one \"key:value\" at depth 1",
              "pool names must be plain scalars");
        } else if (depth >= MAX_DEPTH) {
          throw fail(line, inPool() + "has a depth greater than 2",
              "directives take plain values, and servers: a list of plain lines");
        }
        depth++;
        return;
      case MappingEnd:
        if (depth == MAX_DEPTH) {
          if (!seq) {
            throw fail(poolLine, inPool() + "missing sequence directive at depth 2",
                "a pool needs a servers: list");
          }
          seq = false;
          sentinelSeq = false;
        }
        depth--;
        count[depth] = 0;
        return;
      case SequenceStart:
        if (depth == MAX_DEPTH && count[depth] == 1 && "sentinels".equals(key)
            && !sentinelSeq) {
          sentinelSeq = true;
          return;
        }
        if (seq) {
          throw fail(line, inPool() + "has more than one sequence directive",
              "only servers: and sentinels: take a list");
        } else if (depth != MAX_DEPTH) {
          throw fail(line, inPool() + "has sequence at depth " + depth + " instead of 2",
              depth == 0 ? "the file must map pool names to pools"
                  : "a pool is a mapping of directives, not a list");
        } else if (count[depth] != 1) {
          throw fail(line, inPool() + "has invalid \"key:value\" at depth 2",
              "a list can only be the value of a key");
        }
        seq = true;
        return;
      case SequenceEnd:
        count[depth] = 0;
        return;
      case Scalar:
        scalar((ScalarEvent) event, line);
        return;
      default:
        // Aliases were refused with the tokens; anything else is a SnakeYAML we do not know.
        throw fail(line, "unexpected " + event.getEventId() + " event", "not a twemproxy file");
    }
  }

  private void scalar(ScalarEvent event, int line) {
    if (depth == 0) {
      throw fail(line, "has invalid empty \"key:\" at depth 0",
          "the file must map pool names to pools");
    } else if (depth == ROOT_DEPTH) {
      if (count[depth] != 0) {
        throw fail(line, inPool() + "has invalid mapping \"key:\" at depth 1",
            "a pool is a mapping of directives");
      }
      pool = event.getValue();
      poolLine = line;
    } else if (depth == MAX_DEPTH && count[depth] == 2) {
      count[depth] = 0; // a complete "key: value" pair; the next scalar starts another
    }
    if (depth == MAX_DEPTH && count[depth] == 0) {
      key = event.getValue();
    }
    count[depth]++;
  }

  private String inPool() {
    return depth >= ROOT_DEPTH && pool != null ? "pool '" + pool + "' " : "";
  }

  private ConfigException fail(int line, String reason, String hint) {
    return ConfigException.at(fileName, line, reason + " (" + hint + ")");
  }
}
