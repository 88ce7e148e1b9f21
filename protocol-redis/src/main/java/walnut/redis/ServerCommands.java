package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.util.Locale;
import walnut.core.spi.KeyRouter;
import walnut.core.spi.Splitter;

/**
 * The commands sent to every server of the pool, whose replies merge into one
 * (docs/compatibility.md#dbsize and #scripts), as Redis's own routing hints say
 * ({@code COMMAND INFO}: {@code all_shards}/{@code all_nodes} with {@code agg_sum},
 * {@code all_succeeded}, {@code agg_logical_and}):
 * <ul>
 *   <li>{@code DBSIZE}: the sum;
 *   <li>{@code SCRIPT LOAD body}: the SHA1 every server answered (remembered in the pool's
 *       {@link ScriptRegistry} for servers that restart or are added);
 *   <li>{@code SCRIPT FLUSH [ASYNC|SYNC]}: {@code +OK} (and the registry is emptied);
 *   <li>{@code SCRIPT EXISTS sha…}: 1 only where every server has the script;
 *   <li>{@code SCRIPT KILL}: {@code +OK} when a server killed a script, else a server's
 *       {@code -UNKILLABLE}, else {@code -NOTBUSY}.
 * </ul>
 * A server's error, or a server that could not be asked, answers the command with that error
 * (the first, in server order): a sum or an {@code OK} that left a server out would lie. Other
 * {@code SCRIPT} subcommands are refused without sending anything.
 *
 * <p>Stateless and shared; the frame is sent as it is, one retained slice per server.
 */
final class ServerCommands implements Splitter {

  /** What one broadcast merges. */
  enum Kind { DBSIZE, SCRIPT_LOAD, SCRIPT_FLUSH, SCRIPT_EXISTS, SCRIPT_KILL }

  static final ServerCommands DBSIZE = new ServerCommands(true);
  static final ServerCommands SCRIPT = new ServerCommands(false);

  private static final byte[] LOAD = {'L', 'O', 'A', 'D'};
  private static final byte[] FLUSH = {'F', 'L', 'U', 'S', 'H'};
  private static final byte[] EXISTS = {'E', 'X', 'I', 'S', 'T', 'S'};
  private static final byte[] KILL = {'K', 'I', 'L', 'L'};

  private final boolean dbsize;

  private ServerCommands(boolean dbsize) {
    this.dbsize = dbsize;
  }

  @Override
  public Split split(ByteBuf frame, KeyRouter router, ByteBufAllocator alloc) {
    if (dbsize) {
      return broadcast(frame, router, Kind.DBSIZE, null, null);
    }
    FrameCursor args = new FrameCursor(frame, frame.readerIndex());
    int argc = args.count() - 1;
    args.next(); // SCRIPT
    args.next();
    int sub = args.start();
    int subLength = args.length();
    if (CommandTable.matches(frame, sub, subLength, LOAD)) {
      if (argc != 2) {
        return Refused.error("ERR wrong number of arguments for 'script|load' command");
      }
      args.next();
      byte[] body = ByteBufUtil.getBytes(frame, args.start(), args.length());
      return broadcast(frame, router, Kind.SCRIPT_LOAD, body, router.poolName());
    }
    if (CommandTable.matches(frame, sub, subLength, FLUSH)) {
      return argc <= 2 ? broadcast(frame, router, Kind.SCRIPT_FLUSH, null, router.poolName())
          : Refused.error("ERR wrong number of arguments for 'script|flush' command");
    }
    if (CommandTable.matches(frame, sub, subLength, EXISTS)) {
      return argc >= 2 ? broadcast(frame, router, Kind.SCRIPT_EXISTS, null, null)
          : Refused.error("ERR wrong number of arguments for 'script|exists' command");
    }
    if (CommandTable.matches(frame, sub, subLength, KILL)) {
      return argc == 1 ? broadcast(frame, router, Kind.SCRIPT_KILL, null, null)
          : Refused.error("ERR wrong number of arguments for 'script|kill' command");
    }
    return Refused.error("ERR SCRIPT " + Replies.quote(frame, sub, subLength)
        .toUpperCase(Locale.ROOT) + " is not supported through the proxy (supported: LOAD,"
        + " EXISTS, FLUSH, KILL)");
  }

  private static Split broadcast(ByteBuf frame, KeyRouter router, Kind kind, byte[] body,
      String pool) {
    int n = router.servers();
    int[] servers = new int[n];
    ByteBuf[] fragments = new ByteBuf[n];
    for (int i = 0; i < n; i++) {
      servers[i] = i;
      fragments[i] = frame.retainedSlice(); // the same bytes to every server
    }
    return new Broadcast(kind, servers, fragments, body,
        pool == null ? null : ScriptRegistry.of(pool));
  }

  /** The splitter of a pool-wide command, for a RESP3 client or not. */
  static Splitter of(RedisCommand.Action action, boolean resp3) {
    return switch (action) {
      case SCAN -> ScanSplitter.INSTANCE;
      case INFO -> resp3 ? InfoSplitter.RESP3 : InfoSplitter.RESP2;
      case DBSIZE -> DBSIZE;
      case SCRIPT -> SCRIPT;
      default -> throw new IllegalArgumentException(action.toString());
    };
  }

  @Override
  public String toString() {
    return dbsize ? "ServerCommands{DBSIZE}" : "ServerCommands{SCRIPT}";
  }
}
