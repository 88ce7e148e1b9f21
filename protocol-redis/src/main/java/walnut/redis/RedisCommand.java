package walnut.redis;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * One command the proxy knows: its name, its argument class (docs/compatibility.md#command-table)
 * and what the proxy does with it. Immutable; the instances live in {@link CommandTable}.
 */
final class RedisCommand {

  /** What the request decoder does with a well-formed request of this command. */
  enum Action {
    /** Forwarded to the server of argument 1 (for ZDIFF/ZINTER/ZUNION that is the numkeys text). */
    ROUTE,
    /** Forwarded, routed as twemproxy routes keyless commands. */
    KEYLESS,
    /** Forwarded to the server of all its keys ({@link EvalSplitter}), after numkeys is checked. */
    EVAL,
    /** Walnut's pool-wide commands ({@link ServerCommands#of}): SCAN, INFO, DBSIZE, SCRIPT. */
    SCAN,
    INFO,
    DBSIZE,
    SCRIPT,
    /** Split per server when it has two keys or more, else routed by its one key. */
    SPLIT,
    PING,
    QUIT,
    AUTH,
    ECHO,
    SELECT,
    HELLO,
    CLIENT,
    MOVE,
    /** Routed by its source key, unless it names a destination database ({@code DB n}). */
    COPY,
    /**
     * A transaction's command (MULTI, EXEC, DISCARD, WATCH, UNWATCH) or a blocking one: a request
     * of the client's {@link Transaction}, run on a private server connection.
     */
    PINNED,
    /** SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE: the client's {@link PubSub}. */
    PUBSUB
  }

  /** How many arguments (after the name) a command takes. */
  enum Arity {
    NONE(0, 0, 1),
    UP_TO_ONE(0, 1, 1),
    ANY(0, Integer.MAX_VALUE, 1),
    ONE(1, 1, 1),
    ONE_OR_TWO(1, 2, 1),
    KEY(1, 1, 1),
    KEY_PLUS_1(2, 2, 1),
    KEY_PLUS_2(3, 3, 1),
    KEY_PLUS_3(4, 4, 1),
    KEY_ANY(1, Integer.MAX_VALUE, 1),
    KEYS(1, Integer.MAX_VALUE, 1),
    PAIRS(2, Integer.MAX_VALUE, 2),
    /** Script or sha, numkeys, then at least the key that routes it. */
    SCRIPT(3, Integer.MAX_VALUE, 1);

    private final int min;
    private final int max;
    private final int multiple;

    Arity(int min, int max, int multiple) {
      this.min = min;
      this.max = max;
      this.multiple = multiple;
    }

    boolean accepts(int args) {
      return args >= min && args <= max && args % multiple == 0;
    }
  }

  final String name;
  final byte[] upper;
  /** The name as Redis spells it in {@code wrong number of arguments for '…' command}. */
  final String lowerName;
  final Arity arity;
  final Action action;
  /** The splitter of a {@link Action#SPLIT} command, else {@code null}. */
  final MultiKeySplitter splitter;

  RedisCommand(String name, Arity arity, Action action, MultiKeySplitter splitter) {
    this.name = name;
    this.upper = name.getBytes(StandardCharsets.US_ASCII);
    this.lowerName = name.toLowerCase(Locale.ROOT);
    this.arity = arity;
    this.action = action;
    this.splitter = splitter;
  }

  @Override
  public String toString() {
    return name;
  }
}
