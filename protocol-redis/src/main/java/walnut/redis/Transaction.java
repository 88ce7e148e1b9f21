package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import walnut.core.spi.Conversation;
import walnut.core.spi.Conversation.Step;
import walnut.core.spi.Request;
import walnut.core.spi.Splitter;

/**
 * One client's transaction state (WATCH, MULTI, EXEC, DISCARD, UNWATCH) and its blocking
 * commands, as requests of a {@link Conversation}: the engine runs them on private server
 * connections (docs/compatibility.md#transactions). This follows only what the client sent; what
 * the engine did (a server chosen, a request refused) it keeps itself, and answers the rest of a
 * broken transaction with {@link #localReply}.
 *
 * <p>Inside MULTI every command is queued on the server (PING and ECHO too, since EXEC returns
 * their results); what the proxy cannot queue there (a command it answers itself, one that goes
 * to several servers, an unknown one) is refused, which discards the transaction as Redis
 * discards one after an error in queueing. One per client connection, confined to its loop.
 */
final class Transaction implements Conversation {

  private enum State { NORMAL, WATCHING, MULTI }

  private static final byte[] MULTI = {'M', 'U', 'L', 'T', 'I'};
  private static final byte[] EXEC = {'E', 'X', 'E', 'C'};
  private static final byte[] DISCARD = {'D', 'I', 'S', 'C', 'A', 'R', 'D'};
  private static final byte[] UNWATCH = {'U', 'N', 'W', 'A', 'T', 'C', 'H'};

  private State state = State.NORMAL;

  /** Whether the client watches keys or is between MULTI and EXEC/DISCARD. */
  boolean active() {
    return state != State.NORMAL;
  }

  /** Whether the client is between MULTI and EXEC/DISCARD. */
  boolean inMulti() {
    return state == State.MULTI;
  }

  /**
   * The request for a command of {@link RedisCommand.Action#PINNED}: MULTI, EXEC, DISCARD, WATCH,
   * UNWATCH, a blocking command, XREAD. Takes {@code frame} (the request's, retained for it).
   */
  Request decide(ByteBufAllocator alloc, ByteBuf frame, Args args, RedisCommand command) {
    String name = command.name;
    switch (name) {
      case "MULTI" -> {
        if (state == State.MULTI) {
          return local(frame, Replies.error(alloc, "ERR MULTI calls can not be nested"));
        }
        state = State.MULTI;
        return Request.pinned(frame, 0, -1, null, this, Step.USE);
      }
      case "EXEC", "DISCARD" -> {
        if (state != State.MULTI) {
          return local(frame, Replies.error(alloc, "ERR " + name + " without MULTI"));
        }
        state = State.NORMAL; // EXEC and DISCARD unwatch too
        return Request.pinned(frame, 0, -1, null, this,
            name.equals("EXEC") ? Step.CLOSE : Step.DROP);
      }
      case "WATCH" -> {
        if (state == State.MULTI) {
          return local(frame, Replies.error(alloc, "ERR WATCH inside MULTI is not allowed"));
        }
        state = State.WATCHING;
        return Request.pinned(frame, 0, -1, KeysTogether.WATCH, this, Step.OPEN);
      }
      case "UNWATCH" -> {
        return switch (state) {
          case NORMAL -> local(frame, Replies.ok(alloc)); // Jedis sends it before each MULTI
          case WATCHING -> {
            state = State.NORMAL;
            yield Request.pinned(frame, 0, -1, null, this, Step.DROP);
          }
          case MULTI -> Request.pinned(frame, 0, -1, null, this, Step.USE);
        };
      }
      default -> {
        return blocking(alloc, frame, args, command);
      }
    }
  }

  private Request blocking(ByteBufAllocator alloc, ByteBuf frame, Args args,
      RedisCommand command) {
    KeysTogether keys = keysOf(command.name);
    int argc = args.count - 1;
    if (argc < minArgs(command.name)) {
      return local(frame, Replies.wrongArity(alloc, command.lowerName));
    }
    if (state == State.MULTI) {
      return Request.pinned(frame, 0, -1, keys, this, Step.USE); // Redis does not block in MULTI
    }
    if (!keys.blocks(frame)) {
      return Request.split(frame, keys); // XREAD without BLOCK: on the shared connections
    }
    return Request.pinned(frame, 0, -1, keys, this, Step.ALONE).blocking(keys.blockMillis(frame));
  }

  private static KeysTogether keysOf(String name) {
    return switch (name) {
      case "BLMOVE", "BRPOPLPUSH" -> KeysTogether.MOVES;
      case "BLMPOP", "BZMPOP" -> KeysTogether.MPOPS;
      case "XREAD", "XREADGROUP" -> KeysTogether.STREAMS;
      default -> KeysTogether.POPS;
    };
  }

  private static int minArgs(String name) {
    return switch (name) {
      case "BLMOVE" -> 5;
      case "BRPOPLPUSH" -> 3;
      case "BLMPOP", "BZMPOP" -> 4;
      case "XREAD" -> 3;
      case "XREADGROUP" -> 6;
      default -> 2;
    };
  }

  /**
   * Inside MULTI, the request an ordinary command's {@code normal} decision becomes: queued on
   * the transaction's server, or refused (which discards the transaction). {@code frame} holds
   * the command's own bytes, for a command the proxy would have answered itself (PING, ECHO);
   * it is released unless it becomes the request's frame. Outside MULTI, {@code normal} as is.
   */
  Request queue(Request normal, RedisCommand command, ByteBufAllocator alloc,
      ByteBuf frame) {
    if (state != State.MULTI || normal.kind() == Request.Kind.PINNED
        || normal.closeAfterReply()) {
      frame.release();
      return normal;
    }
    switch (normal.kind()) {
      case ROUTED -> {
        frame.release();
        return convert(normal, null);
      }
      case SPLIT -> {
        // Commands whose keys go to one server may be queued (all of them on the
        // transaction's); the pool-wide ones (SCAN, INFO, DBSIZE, SCRIPT) may not.
        if (normal.splitter() instanceof MultiKeySplitter
            || normal.splitter() == EvalSplitter.INSTANCE) {
          frame.release();
          return convert(normal, normal.splitter());
        }
        break;
      }
      case LOCAL -> {
        ByteBuf reply = normal.frame();
        if (reply.getByte(reply.readerIndex()) == '-') {
          frame.release();
          Request refused = Request.pinned(reply, 0, -1, null, this, Step.REFUSED);
          normal.recycle();
          return refused;
        }
        if (command != null && (command.action == RedisCommand.Action.PING
            || command.action == RedisCommand.Action.ECHO)) {
          normal.release();
          normal.recycle();
          return Request.pinned(frame, 0, -1, null, this, Step.USE);
        }
      }
      default -> { }
    }
    normal.release();
    normal.recycle();
    frame.release();
    String what = command == null ? "this command" : command.name;
    return Request.pinned(Replies.error(alloc, "ERR " + what
        + " cannot be queued in a transaction through the proxy"), 0, -1, null, this,
        Step.REFUSED);
  }

  private Request convert(Request normal, Splitter together) {
    Request queued = Request.pinned(normal.frame(), normal.keyIndex(), normal.keyLength(),
        together, this, Step.USE);
    normal.recycle(); // its frame went on
    return queued;
  }

  private static Request local(ByteBuf frame, ByteBuf reply) {
    frame.release();
    return Request.local(reply);
  }

  @Override
  public ByteBuf localReply(ByteBuf frame, Step step, boolean broken, ByteBufAllocator alloc) {
    FrameCursor cursor = new FrameCursor(frame, frame.readerIndex());
    cursor.next();
    int at = cursor.start();
    int length = cursor.length();
    if (CommandTable.matches(frame, at, length, EXEC)) {
      // Without a break, EXEC is answered here only when nothing was queued: Redis's empty array.
      return broken
          ? Replies.error(alloc, "EXECABORT Transaction discarded because of previous errors.")
          : alloc.buffer(4).writeByte('*').writeByte('0').writeShort(Resp.CRLF);
    }
    // MULTI, DISCARD, and UNWATCH outside MULTI (DROP: inside it is queued like any command).
    if (CommandTable.matches(frame, at, length, MULTI)
        || CommandTable.matches(frame, at, length, DISCARD)
        || (step == Step.DROP && CommandTable.matches(frame, at, length, UNWATCH))) {
      return Replies.ok(alloc);
    }
    return Replies.simple(alloc, "QUEUED");
  }
}
