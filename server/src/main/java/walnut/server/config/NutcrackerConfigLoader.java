package walnut.server.config;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.events.ScalarEvent;
import org.yaml.snakeyaml.reader.UnicodeReader;
import walnut.core.config.PoolConfig;
import walnut.core.config.ProxyConfig;

/**
 * Reads twemproxy's {@code nutcracker.yml} and accepts and refuses exactly the files twemproxy
 * 0.5.0 accepts and refuses (docs/compatibility.md#configuration-file), with messages that name the
 * file, line, pool and directive next to twemproxy's own reason text.
 *
 * <p>The passes are twemproxy's, in its order, each stopping at the first problem: YAML syntax
 * and exactly one document; no refused tokens (flow style, anchors, aliases, tags, directives,
 * document markers); the pool/directive shape; every directive of every pool in file order;
 * then per pool (file order) a listen address, {@code server_connections} not 0,
 * {@code redis_auth} only with {@code redis}, servers present with distinct names; then across
 * pools distinct listen strings, then distinct pool names.
 *
 * <p>Like twemproxy, a value is handled by its key wherever it appears: every item of a list is a
 * value of the list's key, and the one list a pool must have need not be {@code servers:}
 * ({@code servers: host:6379:1} as a plain value, with {@code listen:} given as a one-item list,
 * is a file twemproxy accepts). An empty value anywhere is refused, as twemproxy refuses it
 * (silently, there). A listen host must resolve now; server hosts are resolved on connect.
 *
 * <p>Walnut extensions: {@code reuseport: true|false} (twemproxy master has it; 0.5.0 calls it
 * unknown) sets SO_REUSEPORT on the pool's listener, and {@code max_request_size} bounds what a
 * client may send. Deliberately stricter than twemproxy:
 * numbers it accepts only through C integer wrap-around ({@code timeout: 4294967296} read as 0,
 * a weight or port of {@code 4294967297} read as 1) and unix socket permissions that wrap into
 * range are refused; and {@code hash_tag} keeps twemproxy's byte semantics (two UTF-8 bytes).
 *
 * <p>Hash and distribution names are kept as text unless the known names are passed in; the
 * server checks them against the plug-in registry. Every method is thread-safe: each call reads
 * on its own and returns an immutable configuration.
 */
public final class NutcrackerConfigLoader {

  private final HostResolver resolver;
  private final Set<String> hashes;
  private final Set<String> distributions;

  NutcrackerConfigLoader(HostResolver resolver, Set<String> hashes, Set<String> distributions) {
    this.resolver = resolver;
    this.hashes = hashes;
    this.distributions = distributions;
  }

  /** Loads {@code file}, keeping any non-empty hash and distribution name; messages name it. */
  public static ProxyConfig load(Path file) {
    return new NutcrackerConfigLoader(new SystemHostResolver(), null, null).readFile(file);
  }

  /**
   * Loads {@code file} and refuses hash and distribution names outside the given sets (pass the
   * plug-in registry's names), with the line they are on.
   */
  public static ProxyConfig load(Path file, Set<String> hashes, Set<String> distributions) {
    return new NutcrackerConfigLoader(new SystemHostResolver(), Set.copyOf(hashes),
        Set.copyOf(distributions)).readFile(file);
  }

  /**
   * Reads {@code yaml}, the text of a file called {@code fileName} (used in messages only),
   * keeping any non-empty hash and distribution name.
   */
  public static ProxyConfig parse(String yaml, String fileName) {
    return new NutcrackerConfigLoader(new SystemHostResolver(), null, null)
        .readText(yaml, fileName);
  }

  ProxyConfig readFile(Path file) {
    String fileName = file.toString();
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw ConfigException.at(fileName, 0, "failed to open configuration: No such file or"
          + " directory", e);
    } catch (AccessDeniedException e) {
      throw ConfigException.at(fileName, 0, "failed to open configuration: Permission denied", e);
    } catch (IOException e) {
      throw ConfigException.at(fileName, 0, "failed to open configuration: " + e, e);
    }
    return readText(decode(bytes, fileName), fileName);
  }

  ProxyConfig readText(String yaml, String fileName) {
    List<Event> events = YamlPrecheck.events(yaml, fileName);
    ShapeCheck.check(events, fileName);
    List<PoolDraft> drafts = readPools(events,
        new Directives(fileName, resolver, hashes, distributions));
    for (PoolDraft draft : drafts) {
      draft.validate();
    }
    PoolChecks.distinctListens(drafts, fileName);
    PoolChecks.distinctNames(drafts, fileName);
    List<PoolConfig> pools = new ArrayList<>();
    for (PoolDraft draft : drafts) {
      pools.add(draft.build());
    }
    return new ProxyConfig(pools);
  }

  /**
   * Applies every directive in file order. The shape pass has established the layout: stream,
   * document, root mapping, then per pool a name and a mapping whose values are scalars or one
   * list of scalars.
   */
  private static List<PoolDraft> readPools(List<Event> events, Directives directives) {
    String fileName = directives.fileName();
    List<PoolDraft> drafts = new ArrayList<>();
    int i = 3; // past StreamStart, DocumentStart and the root MappingStart
    while (events.get(i).is(Event.ID.Scalar)) {
      ScalarEvent name = (ScalarEvent) events.get(i);
      if (name.getValue().isEmpty()) {
        throw ConfigException.at(fileName, line(name), "a pool has an empty name");
      }
      PoolDraft pool = new PoolDraft(directives, name.getValue(), line(name));
      drafts.add(pool);
      i += 2; // past the pool's MappingStart
      while (events.get(i).is(Event.ID.Scalar)) {
        ScalarEvent key = (ScalarEvent) events.get(i++);
        if (key.getValue().isEmpty()) {
          throw ConfigException.at(fileName, line(key),
              "pool '" + pool.name + "': a directive has an empty name");
        }
        boolean list = events.get(i).is(Event.ID.SequenceStart);
        if (list) {
          i++;
        }
        do {
          ScalarEvent value = (ScalarEvent) events.get(i++);
          if (value.getValue().isEmpty()) {
            throw ConfigException.at(fileName, line(value), "pool '" + pool.name
                + "': directive \"" + key.getValue() + "\" has an empty value");
          }
          pool.apply(key.getValue(), value.getValue(), line(value));
        } while (list && events.get(i).is(Event.ID.Scalar));
        if (list) {
          i++; // past SequenceEnd
        }
      }
      i++; // past the pool's MappingEnd
    }
    return drafts;
  }

  private static int line(Event event) {
    return YamlPrecheck.line(event.getStartMark());
  }

  // libyaml reads UTF-8, or UTF-16 after a byte-order mark; so does SnakeYAML's UnicodeReader,
  // which also refuses malformed input instead of replacing it.
  private static String decode(byte[] bytes, String fileName) {
    try (Reader reader = new UnicodeReader(new ByteArrayInputStream(bytes))) {
      StringWriter text = new StringWriter(bytes.length);
      reader.transferTo(text);
      return text.toString();
    } catch (CharacterCodingException e) {
      throw ConfigException.at(fileName, 0, "is not valid UTF-8 text", e);
    } catch (IOException e) {
      throw ConfigException.at(fileName, 0, "failed to read configuration: " + e, e);
    }
  }
}
