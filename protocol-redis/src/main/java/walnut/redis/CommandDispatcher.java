package walnut.redis;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.atomic.AtomicLong;
import walnut.core.spi.Request;
import walnut.redis.RedisCommand.Action;

/**
 * Turns one complete, well-framed request into a {@link Request}: looks the command up, checks its
 * argument count, enforces {@code redis_auth}, answers what the proxy answers itself and routes
 * the rest. Keeps the connection's AUTH state and CLIENT SETNAME name.
 *
 * <p>The checks run in Redis's order: unknown command, then argument count, then authentication;
 * so an unauthenticated client still learns that a command does not exist, and AUTH, QUIT and
 * HELLO work before AUTH.
 *
 * <p>{@code HELLO 3} switches the client to RESP3 (unless the pool's {@code resp3} is false): its
 * forwarded requests then go to RESP3 server connections ({@link RedisProtocol#RESP3}), whose
 * replies pass through unchanged, and the proxy's own replies take RESP3's shapes where they differ
 * (the null, the HELLO map).
 *
 * <p>One per client connection, confined to its event loop.
 */
final class CommandDispatcher {

  private static final byte[] SETNAME = {'S', 'E', 'T', 'N', 'A', 'M', 'E'};
  private static final byte[] GETNAME = {'G', 'E', 'T', 'N', 'A', 'M', 'E'};
  private static final byte[] SETINFO = {'S', 'E', 'T', 'I', 'N', 'F', 'O'};
  private static final byte[] DEFAULT_USER = {'d', 'e', 'f', 'a', 'u', 'l', 't'};
  private static final byte[] TRACKING = {'T', 'R', 'A', 'C', 'K', 'I', 'N', 'G'};
  private static final byte[] AUTH = {'A', 'U', 'T', 'H'};
  /** Client ids for HELLO's reply, process-wide like Redis's. */
  private static final AtomicLong IDS = new AtomicLong();

  /** The pool's {@code redis_auth}, or {@code null}: then every client is authenticated. */
  private byte[] password;
  /** The client's last AUTH was right: it proved the password in force when it sent it. */
  private boolean authenticated;
  private byte[] clientName;
  /** The client switched to RESP3 with HELLO 3. */
  private boolean resp3;
  /** The pool's {@code resp3}: whether HELLO 3 may switch. */
  private boolean resp3Allowed = true;
  private long id;
  /** Its transaction and blocking commands. */
  private final Transaction transaction = new Transaction();
  /** Its subscriptions, from its first SUBSCRIBE (most clients never subscribe). */
  private PubSub pubsub;

  CommandDispatcher(String redisAuth) {
    this.password = bytes(redisAuth);
  }

  /** The pool's {@code resp3} (a reload may change it): whether HELLO 3 may switch from now on. */
  void resp3Allowed(boolean allowed) {
    this.resp3Allowed = allowed;
  }

  /** Whether the client speaks RESP3. */
  boolean resp3() {
    return resp3;
  }

  private static byte[] bytes(String redisAuth) {
    return redisAuth == null ? null : redisAuth.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * A reload set the pool's {@code redis_auth} to {@code redisAuth} (maybe {@code null}); it
   * applies from this client's next request.
   *
   * <p>A client whose last AUTH was right stays authenticated, as Redis keeps a connection
   * authenticated when {@code requirepass} changes: rotating the password must not fail the next
   * command of every connected application with NOAUTH (client libraries authenticate once, when
   * they connect, and do not authenticate again on NOAUTH), and the client did prove the password
   * in force when it sent it. From now on only the new password authenticates, and a wrong one
   * de-authenticates as always. A client that never sent a right password (the pool had none, or
   * it has not yet) must send the new one: a password set on an open pool shuts out the clients
   * already connected without one (Redis 7 keeps those in; an operator who adds a password means
   * to close the pool). A connection authenticated with a password that leaked is cut off only by
   * a restart (docs/compatibility.md#redis_auth).
   */
  void passwordChanged(String redisAuth) {
    this.password = bytes(redisAuth);
  }

  /** Whether the pool has a password this client has not sent yet. */
  boolean mustAuthenticate() {
    return password != null && !authenticated;
  }

  /**
   * The request for the frame of {@code length} bytes at absolute {@code start} of {@code buf},
   * whose first arguments {@code args} locates. When {@code owned}, {@code buf} is a new buffer
   * holding exactly the frame (a converted inline command) and this takes it over: it becomes the
   * request's frame or is released. Otherwise {@code buf} is the read buffer, sliced and retained
   * only for a request that is forwarded.
   */
  Request dispatch(ByteBufAllocator alloc, ByteBuf buf, int start, int length, Args args,
      boolean owned) {
    Request request = null;
    try {
      request = decide(alloc, buf, start, length, args, owned);
      if (resp3 && request.kind() != Request.Kind.LOCAL) {
        request.onDialect(RedisProtocol.RESP3);
      }
      return request;
    } finally {
      if (owned && (request == null || request.frame() != buf)) {
        buf.release();
      }
    }
  }

  private Request decide(ByteBufAllocator alloc, ByteBuf buf, int start, int length, Args args,
      boolean owned) {
    RedisCommand command = CommandTable.lookup(buf, start + args.offset(0), args.length(0));
    // Inside MULTI every frame is a slice, even of an owned buffer (which dispatch then
    // releases), so that queue() may release what it does not send.
    Request request = decide(alloc, buf, start, length, args, owned && !transaction.inMulti(),
        command);
    if (!transaction.inMulti() || (command != null && command.action == Action.PINNED
        && command.arity.accepts(args.count - 1))) {
      return request;
    }
    // Inside MULTI: queued on the transaction's server, or refused (the transaction discarded).
    return transaction.queue(request, command, alloc, buf.retainedSlice(start, length));
  }

  private Request decide(ByteBufAllocator alloc, ByteBuf buf, int start, int length, Args args,
      boolean owned, RedisCommand command) {
    if (command == null) {
      return Request.local(Replies.unknownCommand(alloc, buf, start));
    }
    int argc = args.count - 1;
    if (!command.arity.accepts(argc)) {
      return Request.local(Replies.wrongArity(alloc, command.lowerName));
    }
    if (!resp3 && pubsub != null && pubsub.subscribed() && command.action != Action.PUBSUB
        && command.action != Action.QUIT) {
      // Redis's subscribed mode (RESP2): the replies are messages, nothing else fits.
      return Request.local(command.action == Action.PING
          ? PubSub.pong(alloc, buf, start + args.offset(1), argc == 0 ? 0 : args.length(1))
          : Replies.error(alloc, "ERR Can't execute '" + command.lowerName + "': only"
              + " (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this"
              + " context"));
    }
    switch (command.action) {
      case QUIT:
        return Request.localThenClose(Replies.ok(alloc));
      case HELLO:
        return Request.local(hello(alloc, buf, start, args));
      case AUTH:
        return Request.local(auth(alloc, buf, start, args));
      default:
        break;
    }
    if (password != null && !authenticated) {
      return Request.local(Replies.error(alloc, Replies.NOAUTH));
    }
    return switch (command.action) {
      case ROUTE -> routed(buf, start, length, args, 1, owned);
      case KEYLESS -> Request.keyless(frame(buf, start, length, owned));
      case EVAL -> eval(alloc, buf, start, length, args, command, owned);
      case PINNED -> transaction.decide(alloc, buf.retainedSlice(start, length), args, command);
      case PUBSUB -> transaction.inMulti()
          ? Request.local(Replies.error(alloc, "ERR " + command.name + " inside MULTI is not"
              + " allowed through the proxy"))
          : (pubsub == null ? pubsub = new PubSub() : pubsub)
              .decide(alloc, buf.retainedSlice(start, length), command, resp3);
      case SCAN, INFO, DBSIZE, SCRIPT ->
          Request.split(frame(buf, start, length, owned), ServerCommands.of(command.action, resp3));
      case SPLIT -> argc / command.splitter.step() >= 2
          ? Request.split(frame(buf, start, length, owned), command.splitter)
          : routed(buf, start, length, args, 1, owned);
      case PING -> Request.local(argc == 0 ? Replies.simple(alloc, "PONG")
          : Replies.bulk(alloc, buf, start + args.offset(1), args.length(1)));
      case ECHO -> Request.local(Replies.bulk(alloc, buf, start + args.offset(1), args.length(1)));
      case SELECT -> Request.local(select(alloc, buf, start, args));
      case CLIENT -> Request.local(client(alloc, buf, start, args));
      case MOVE -> Request.local(Replies.error(alloc,
          "ERR MOVE is not supported through the proxy"));
      case COPY -> namesDatabase(buf, start, args, argc)
          ? Request.local(Replies.error(alloc,
              "ERR COPY ... DB is not allowed through the proxy: clients use DB 0"))
          : routed(buf, start, length, args, 1, owned);
      default -> throw new AssertionError(command.action);
    };
  }

  private static ByteBuf frame(ByteBuf buf, int start, int length, boolean owned) {
    // The slice keeps the read buffer alive until the engine releases the request.
    return owned ? buf : buf.retainedSlice(start, length);
  }

  private static Request routed(ByteBuf buf, int start, int length, Args args, int keyArg,
      boolean owned) {
    return Request.routed(frame(buf, start, length, owned), args.offset(keyArg),
        args.length(keyArg));
  }

  /** EVAL and co. go to the server of all their keys, so numkeys must be at least 1. */
  private static Request eval(ByteBufAllocator alloc, ByteBuf buf, int start, int length,
      Args args, RedisCommand command, boolean owned) {
    String refused = EvalSplitter.checkNumkeys(buf, start + args.offset(2), args.length(2),
        args.count - 1, command.name);
    return refused != null ? Request.local(Replies.error(alloc, refused))
        : Request.split(frame(buf, start, length, owned), EvalSplitter.INSTANCE);
  }

  /**
   * twemproxy's AUTH (docs/compatibility.md#redis_auth), plus Redis 6's {@code AUTH default
   * <password>}.
   */
  private ByteBuf auth(ByteBufAllocator alloc, ByteBuf buf, int start, Args args) {
    if (password == null) {
      return Replies.error(alloc, "ERR Client sent AUTH, but no password is set");
    }
    boolean withUser = args.count == 3;
    int arg = withUser ? 2 : 1;
    boolean ok = matchesPassword(buf, start + args.offset(arg), args.length(arg));
    if (withUser) {
      ok &= isDefaultUser(buf, start + args.offset(1), args.length(1));
    }
    // A failed AUTH de-authenticates, even after an earlier success
    // (docs/compatibility.md#redis_auth).
    authenticated = ok;
    if (ok) {
      return Replies.ok(alloc);
    }
    return Replies.error(alloc, withUser
        ? "WRONGPASS invalid username-password pair or user is disabled."
        : "ERR invalid password");
  }

  /**
   * Redis's {@code HELLO [protover [AUTH username password] [SETNAME clientname]]}: checked in
   * Redis's order (version, options, credentials, authentication, name); only when all pass does
   * the client switch protocol (and authenticate, and take the name), and the reply is in the
   * protocol it switched to.
   */
  private ByteBuf hello(ByteBufAllocator alloc, ByteBuf buf, int start, Args args) {
    int argc = args.count - 1;
    int[] at = new int[argc + 1];
    int[] len = new int[argc + 1];
    FrameCursor cursor = new FrameCursor(buf, start);
    for (int i = 0; i <= argc && cursor.next(); i++) {
      at[i] = cursor.start();
      len[i] = cursor.length();
    }
    boolean toResp3 = resp3;
    if (argc >= 1) {
      Long version = integer(buf, at[1], len[1]);
      if (version == null) {
        return Replies.error(alloc, "ERR Protocol version is not an integer or out of range");
      }
      if (version < 2 || version > 3 || (version == 3 && !resp3Allowed)) {
        return Replies.error(alloc, "NOPROTO unsupported protocol version");
      }
      toResp3 = version == 3;
      if (toResp3 != resp3 && pubsub != null && pubsub.subscribed()) {
        // Its listening connections speak the protocol it subscribed in: messages keep it.
        return Replies.error(alloc, "ERR HELLO cannot change the protocol of a subscribed client"
            + " through the proxy: unsubscribe first");
      }
      if (toResp3 != resp3 && transaction.active()) {
        // Its private connection speaks the protocol it had at WATCH or MULTI: EXEC's would too.
        return Replies.error(alloc, "ERR HELLO cannot change the protocol inside a transaction"
            + " through the proxy: EXEC, DISCARD or UNWATCH first");
      }
    }
    int user = -1;
    int name = -1;
    for (int i = 2; i <= argc; i++) {
      if (CommandTable.matches(buf, at[i], len[i], AUTH) && i + 2 <= argc) {
        user = i + 1;
        i += 2;
      } else if (CommandTable.matches(buf, at[i], len[i], SETNAME) && i + 1 <= argc) {
        name = ++i;
      } else {
        return Replies.error(alloc, "ERR Syntax error in HELLO option '"
            + Replies.quote(buf, at[i], len[i]) + "'");
      }
    }
    boolean nowAuthenticated = authenticated;
    if (user > 0) {
      // Only Redis's default user exists; without a password it takes any: Redis's "nopass".
      nowAuthenticated = isDefaultUser(buf, at[user], len[user])
          && (password == null || matchesPassword(buf, at[user + 1], len[user + 1]));
      if (!nowAuthenticated) {
        authenticated = false;
        return Replies.error(alloc,
            "WRONGPASS invalid username-password pair or user is disabled.");
      }
    }
    if (password != null && !nowAuthenticated) {
      return Replies.error(alloc, "NOAUTH HELLO must be called with the client already"
          + " authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to"
          + " authenticate the client and select the RESP protocol version at the same time");
    }
    if (name > 0) {
      ByteBuf refused = setName(alloc, buf, at[name], len[name]);
      if (refused.getByte(refused.readerIndex()) == '-') {
        return refused;
      }
      refused.release();
    }
    authenticated = nowAuthenticated;
    resp3 = toResp3;
    if (id == 0) {
      id = IDS.incrementAndGet();
    }
    return Replies.hello(alloc, resp3, id);
  }

  /**
   * A decimal integer as Redis reads one (an optional minus, no leading zero, at most 18 digits),
   * or {@code null}.
   */
  private static Long integer(ByteBuf buf, int index, int length) {
    int i = length > 0 && buf.getByte(index) == '-' ? 1 : 0;
    int digits = length - i;
    if (digits == 0 || digits > 18 || (digits > 1 && buf.getByte(index + i) == '0')) {
      return null;
    }
    long v = 0;
    for (; i < length; i++) {
      byte b = buf.getByte(index + i);
      if (b < '0' || b > '9') {
        return null;
      }
      v = v * 10 + (b - '0');
    }
    return buf.getByte(index) == '-' ? -v : v;
  }

  private boolean matchesPassword(ByteBuf buf, int index, int length) {
    // MessageDigest.isEqual takes time independent of where the bytes differ; an absurdly long
    // candidate is refused without copying it.
    if (length > Math.max(4096, password.length)) {
      return false;
    }
    return MessageDigest.isEqual(password, ByteBufUtil.getBytes(buf, index, length));
  }

  /** Redis user names are case-sensitive; the proxy only has Redis's {@code default} user. */
  private static boolean isDefaultUser(ByteBuf buf, int index, int length) {
    if (length != DEFAULT_USER.length) {
      return false;
    }
    for (int i = 0; i < length; i++) {
      if (buf.getByte(index + i) != DEFAULT_USER[i]) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether a {@code COPY source destination [DB n] [REPLACE]} names a destination database: an
   * option after the two keys that reads {@code DB} in any case. The database is the pool's
   * {@code redis_db}, which a client must not leave (as with {@code SELECT} and {@code MOVE}).
   * {@link Args} tracks the first three arguments; the later ones are read from the frame, a RESP
   * array the decoder has already checked (an inline command arrives converted to one).
   */
  private static boolean namesDatabase(ByteBuf buf, int start, Args args, int argc) {
    if (argc < 3) {
      return false;
    }
    int at = start + args.offset(3);
    int length = args.length(3);
    for (int i = 3; ; i++) {
      if (length == 2 && (buf.getByte(at) | 0x20) == 'd' && (buf.getByte(at + 1) | 0x20) == 'b') {
        return true;
      }
      if (i == argc) {
        return false;
      }
      int p = at + length + 3; // past the data, its CRLF and the next bulk's '$'
      int next = 0;
      for (byte b; (b = buf.getByte(p++)) != '\r'; ) {
        next = next * 10 + (b - '0');
      }
      at = p + 1; // past the LF
      length = next;
    }
  }

  private static ByteBuf select(ByteBufAllocator alloc, ByteBuf buf, int start, Args args) {
    if (args.length(1) == 1 && buf.getByte(start + args.offset(1)) == '0') {
      return Replies.ok(alloc);
    }
    return Replies.error(alloc, "ERR SELECT is not allowed through the proxy: clients use DB 0");
  }

  private ByteBuf client(ByteBufAllocator alloc, ByteBuf buf, int start, Args args) {
    int sub = start + args.offset(1);
    int subLength = args.length(1);
    int argc = args.count - 2;
    if (CommandTable.matches(buf, sub, subLength, SETNAME)) {
      if (argc != 1) {
        return Replies.wrongArity(alloc, "client|setname");
      }
      return setName(alloc, buf, start + args.offset(2), args.length(2));
    }
    if (CommandTable.matches(buf, sub, subLength, GETNAME)) {
      if (argc != 0) {
        return Replies.wrongArity(alloc, "client|getname");
      }
      return clientName == null ? Replies.nil(alloc, resp3) : Replies.bulk(alloc, clientName);
    }
    if (CommandTable.matches(buf, sub, subLength, SETINFO)) {
      // Jedis and Lettuce announce themselves; the servers never see this connection, so the
      // proxy accepts and forgets it.
      return argc == 2 ? Replies.ok(alloc) : Replies.wrongArity(alloc, "client|setinfo");
    }
    if (CommandTable.matches(buf, sub, subLength, TRACKING)) {
      return Replies.error(alloc, "ERR CLIENT TRACKING is not supported through the proxy: its"
          + " server connections are shared, so no invalidation could be told to the right client");
    }
    return Replies.error(alloc, "ERR CLIENT " + Replies.quote(buf, sub, subLength)
        + " is not supported through the proxy (supported: SETNAME, GETNAME, SETINFO)");
  }

  private ByteBuf setName(ByteBufAllocator alloc, ByteBuf buf, int index, int length) {
    for (int i = 0; i < length; i++) {
      byte b = buf.getByte(index + i);
      if (b < '!' || b > '~') {
        return Replies.error(alloc,
            "ERR Client names cannot contain spaces, newlines or special characters.");
      }
    }
    clientName = length == 0 ? null : ByteBufUtil.getBytes(buf, index, length);
    return Replies.ok(alloc);
  }
}
