package walnut.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * SET, GET and a multi-key GET in each protocol Walnut proxies, for protocol-agnostic fault tests ({@link KvLoad},
 * {@link KeyPlacement}): the request bytes, a reply parsed into a {@link Reply}, and a way to ask a
 * backend directly which keys it holds.
 *
 * <p>Blocking and allocation-happy on purpose, like {@link Resp}: test code only. Stateless and
 * thread-safe.
 */
public enum KvDialect {
  /** RESP2: {@code SET k v} answers {@code +OK}, {@code GET k} a bulk string or {@code $-1}. */
  REDIS {
    @Override
    public byte[] set(String key, String value) {
      return command("SET", key, value);
    }

    @Override
    public byte[] get(String key) {
      return command("GET", key);
    }

    @Override
    public Reply read(InputStream in, String key) throws IOException {
      Object reply = Resp.readReply(in);
      if (reply instanceof RedisServer.ErrorReply error) {
        String text = error.message();
        return Reply.error(text.startsWith("ERR ") ? text.substring(4) : text);
      }
      if ("OK".equals(reply)) {
        return new Reply(Kind.STORED, null);
      }
      if (reply == null) {
        return new Reply(Kind.MISSING, null);
      }
      if (reply instanceof String value) {
        return new Reply(Kind.VALUE, value);
      }
      return new Reply(Kind.OTHER, String.valueOf(reply));
    }

    @Override
    public byte[] multiGet(List<String> keys) {
      List<String> args = new ArrayList<>(keys.size() + 1);
      args.add("MGET");
      args.addAll(keys);
      return command(args.toArray(new String[0]));
    }

    @Override
    public MultiReply readMulti(InputStream in, List<String> keys) throws IOException {
      Object reply = Resp.readReply(in);
      if (reply instanceof RedisServer.ErrorReply error) {
        String text = error.message();
        return MultiReply.error(text.startsWith("ERR ") ? text.substring(4) : text);
      }
      if (reply instanceof List<?> list && list.size() == keys.size()
          && list.stream().allMatch(v -> v == null || v instanceof String)) {
        List<String> values = new ArrayList<>(list.size());
        list.forEach(v -> values.add((String) v));
        return MultiReply.values(values);
      }
      return MultiReply.other(String.valueOf(reply));
    }

    @Override
    public ServerFixture startServer() {
      return RedisServer.start();
    }

    @Override
    public Set<String> held(ServerFixture backend, Collection<String> keys) {
      Set<String> wanted = new HashSet<>(keys);
      Set<String> held = new HashSet<>();
      // One SCAN-free round trip: the fault tests' key sets are a few thousand keys.
      Object reply = ((RedisServer) backend).command("KEYS", "*");
      if (!(reply instanceof List<?> all)) {
        throw new IllegalStateException(backend + " answered KEYS with " + reply);
      }
      for (Object key : all) {
        if (wanted.contains((String) key)) {
          held.add((String) key);
        }
      }
      return held;
    }

    private byte[] command(String... args) {
      StringBuilder s = new StringBuilder().append('*').append(args.length).append("\r\n");
      for (String arg : args) {
        s.append('$').append(arg.getBytes(StandardCharsets.UTF_8).length).append("\r\n")
            .append(arg).append("\r\n");
      }
      return s.toString().getBytes(StandardCharsets.UTF_8);
    }
  },

  /**
   * memcached ASCII: {@code set} answers {@code STORED}, {@code get} {@code VALUE … END} or a
   * bare {@code END}; a {@code VALUE} line naming another key is reported as {@link Kind#OTHER}.
   */
  MEMCACHE {
    @Override
    public byte[] set(String key, String value) {
      byte[] data = value.getBytes(StandardCharsets.UTF_8);
      return ("set " + key + " 0 0 " + data.length + "\r\n" + value + "\r\n")
          .getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public byte[] get(String key) {
      return ("get " + key + "\r\n").getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public Reply read(InputStream in, String key) throws IOException {
      String line = Resp.readLine(in);
      if (line.equals("STORED")) {
        return new Reply(Kind.STORED, null);
      }
      if (line.equals("END")) {
        return new Reply(Kind.MISSING, null);
      }
      if (line.startsWith("SERVER_ERROR ")) {
        return Reply.error(line.substring("SERVER_ERROR ".length()));
      }
      if (line.startsWith("VALUE ")) {
        String[] words = line.split(" ");
        byte[] data = Resp.readExactly(in, Integer.parseInt(words[3]) + 2);
        String end = Resp.readLine(in);
        String value = new String(data, 0, data.length - 2, StandardCharsets.UTF_8);
        if (!words[1].equals(key) || !end.equals("END")) {
          return new Reply(Kind.OTHER, line + " " + value + " " + end);
        }
        return new Reply(Kind.VALUE, value);
      }
      return new Reply(Kind.OTHER, line);
    }

    @Override
    public byte[] multiGet(List<String> keys) {
      return ("get " + String.join(" ", keys) + "\r\n").getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public MultiReply readMulti(InputStream in, List<String> keys) throws IOException {
      String line = Resp.readLine(in);
      if (line.startsWith("SERVER_ERROR ")) {
        return MultiReply.error(line.substring("SERVER_ERROR ".length()));
      }
      // VALUE lines for the keys found, in the order asked, then END.
      List<String> values = new ArrayList<>(Collections.nCopies(keys.size(), null));
      StringBuilder seen = new StringBuilder();
      int next = 0;
      boolean ordered = true;
      while (line.startsWith("VALUE ")) {
        String[] words = line.split(" ");
        byte[] data = Resp.readExactly(in, Integer.parseInt(words[3]) + 2);
        seen.append(words[1]).append(' ');
        int at = keys.subList(next, keys.size()).indexOf(words[1]);
        if (at < 0) {
          ordered = false;
        } else {
          values.set(next + at, new String(data, 0, data.length - 2, StandardCharsets.UTF_8));
          next += at + 1;
        }
        line = Resp.readLine(in);
      }
      if (!ordered || !line.equals("END")) {
        return MultiReply.other("keys " + seen + "then '" + line + "'");
      }
      return MultiReply.values(values);
    }

    @Override
    public ServerFixture startServer() {
      return MemcachedServer.start();
    }

    @Override
    public Set<String> held(ServerFixture backend, Collection<String> keys) {
      Set<String> held = new HashSet<>();
      List<String> batch = new ArrayList<>();
      for (String key : keys) {
        batch.add(key);
        if (batch.size() == 100) {
          heldOf((MemcachedServer) backend, batch, held);
          batch.clear();
        }
      }
      if (!batch.isEmpty()) {
        heldOf((MemcachedServer) backend, batch, held);
      }
      return held;
    }

    private void heldOf(MemcachedServer backend, List<String> keys, Set<String> held) {
      String reply = backend.command("get " + String.join(" ", keys));
      for (String line : reply.split("\r\n")) {
        if (line.startsWith("VALUE ")) {
          held.add(line.split(" ")[1]);
        }
      }
    }
  },

  /** RESP3: a connection that starts with {@code HELLO 3}; nulls come as {@code _}. */
  REDIS_RESP3 {
    @Override
    public byte[] handshake() {
      return "*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n".getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    KvDialect requests() {
      return REDIS;
    }
  },

  /** Redis with every other client in RESP3 ({@link #forClient}): both on the same pool. */
  REDIS_MIXED {
    @Override
    public KvDialect forClient(int id) {
      return id % 2 == 0 ? REDIS : REDIS_RESP3;
    }

    @Override
    KvDialect requests() {
      return REDIS;
    }
  };

  /**
   * The dialect whose requests, replies and servers this one uses: itself for REDIS and MEMCACHE,
   * which spell them out; REDIS for the RESP3 variants, whose requests are RESP2's.
   */
  KvDialect requests() {
    throw new UnsupportedOperationException(name() + " spells out its own requests");
  }

  /** Whether the servers are Redis (any protocol version). */
  public boolean isRedis() {
    return this != MEMCACHE;
  }

  /** What a connection sends before its first request (its reply is read and dropped). */
  public byte[] handshake() {
    return new byte[0];
  }

  /** The dialect client {@code id} of a load speaks: this one, unless it mixes several. */
  public KvDialect forClient(int id) {
    return this;
  }

  /** What a reply is, whatever the protocol spells it. */
  public enum Kind {
    /** {@code +OK} / {@code STORED}. */
    STORED,
    /** A value for the requested key. */
    VALUE,
    /** No value: {@code $-1} / {@code END}. */
    MISSING,
    /** An error reply; the text without the protocol's prefix ({@code ERR }, {@code SERVER_ERROR }). */
    ERROR,
    /** Anything else (another type, a value for another key): always a wrong reply here. */
    OTHER
  }

  /** One parsed reply: {@code text} is the value, the error text, or what {@code OTHER} was. */
  public record Reply(Kind kind, String text) {
    static Reply error(String text) {
      return new Reply(Kind.ERROR, text);
    }
  }

  /**
   * A reply to a multi-key read: an error's text; or one value per key asked, in order, {@code
   * null} where there is none; or, when it is neither (a key not asked, out of order, another
   * type), what it was.
   */
  public record MultiReply(String error, List<String> values, String other) {
    static MultiReply error(String text) {
      return new MultiReply(text, null, null);
    }

    static MultiReply values(List<String> values) {
      return new MultiReply(null, values, null);
    }

    static MultiReply other(String what) {
      return new MultiReply(null, null, what);
    }
  }

  /** The request storing {@code value} under {@code key}. */
  public byte[] set(String key, String value) {
    return requests().set(key, value);
  }

  /** The request reading {@code key}. */
  public byte[] get(String key) {
    return requests().get(key);
  }

  /**
   * Reads one reply to a SET or GET of {@code key}; throws on a closed connection or on bytes that
   * are no reply at all.
   */
  public Reply read(InputStream in, String key) throws IOException {
    return requests().read(in, key);
  }

  /** The request reading every one of {@code keys} at once ({@code MGET}, {@code get k1 k2 …}). */
  public byte[] multiGet(List<String> keys) {
    return requests().multiGet(keys);
  }

  /** Reads one reply to {@link #multiGet}{@code (keys)}. */
  public MultiReply readMulti(InputStream in, List<String> keys) throws IOException {
    return requests().readMulti(in, keys);
  }

  /** Starts a real server of this protocol on a free port. */
  public ServerFixture startServer() {
    return requests().startServer();
  }

  /** Which of {@code keys} {@code backend} holds, asked directly. */
  public Set<String> held(ServerFixture backend, Collection<String> keys) {
    return requests().held(backend, keys);
  }
}
