package walnut.core.plugin;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.Mockito.RETURNS_DEFAULTS;
import static org.mockito.Mockito.mock;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import walnut.core.plugin.PluginRegistry.UnknownPluginException;
import walnut.core.spi.Distribution;
import walnut.core.spi.HashFunction;
import walnut.core.spi.Protocol;
import walnut.core.spi.Transport;

class PluginRegistryTest {

  private static final String HASH_SERVICES = "META-INF/services/" + HashFunction.class.getName();

  @TempDir
  Path dir;

  /** A built-in hash whose {@code name()} is whatever the test says. */
  private static final class NamedHash implements HashFunction {
    private final String name;

    NamedHash(String name) {
      this.name = name;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public int hash(ByteBuf key, int offset, int length) {
      return 0;
    }
  }

  /**
   * Loads the classes its own jars hold itself, before asking its parent, so that a test class
   * copied into a jar is defined again from that jar (with the jar as its code source) although
   * the same class is on the test class path. Everything else, the SPI interfaces included, comes
   * from the parent, so the plug-ins still implement the registry's {@link HashFunction}.
   */
  private static final class IsolatingLoader extends URLClassLoader {
    IsolatingLoader(URL... jars) {
      super(jars, PluginRegistryTest.class.getClassLoader());
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
      synchronized (getClassLoadingLock(name)) {
        Class<?> c = findLoadedClass(name);
        if (c == null) {
          try {
            c = findClass(name);
          } catch (ClassNotFoundException notInTheJars) {
            return super.loadClass(name, resolve);
          }
        }
        if (resolve) {
          resolveClass(c);
        }
        return c;
      }
    }
  }

  /** A jar holding {@code classes}' class files and a services file naming them as hashes. */
  private Path pluginJar(String fileName, Class<?>... classes) throws IOException {
    Path jar = dir.resolve(fileName);
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      StringBuilder services = new StringBuilder();
      for (Class<?> c : classes) {
        String resource = c.getName().replace('.', '/') + ".class";
        out.putNextEntry(new JarEntry(resource));
        try (InputStream in = c.getClassLoader().getResourceAsStream(resource)) {
          in.transferTo(out);
        }
        out.closeEntry();
        services.append(c.getName()).append('\n');
      }
      out.putNextEntry(new JarEntry(HASH_SERVICES));
      out.write(services.toString().getBytes(UTF_8));
      out.closeEntry();
    }
    return jar;
  }

  /**
   * A directory holding only a services file naming {@code classes}: a plain (parent-first)
   * loader over it finds the very classes already on the test class path.
   */
  private URLClassLoader servicesOnly(Class<?>... classes) throws IOException {
    Path root = Files.createDirectories(dir.resolve("services-only"));
    Path file = root.resolve(HASH_SERVICES);
    Files.createDirectories(file.getParent());
    StringBuilder services = new StringBuilder();
    for (Class<?> c : classes) {
      services.append(c.getName()).append('\n');
    }
    Files.writeString(file, services.toString(), UTF_8);
    return new URLClassLoader(new URL[] {root.toUri().toURL()},
        PluginRegistryTest.class.getClassLoader());
  }

  /** An empty directory: the loader finds no plug-in beyond what the test class path has. */
  private URLClassLoader noPlugins() throws IOException {
    Path empty = Files.createDirectories(dir.resolve("empty"));
    return new URLClassLoader(new URL[] {empty.toUri().toURL()},
        PluginRegistryTest.class.getClassLoader());
  }

  private static PluginRegistry registry(Map<String, HashFunction> hashes, ClassLoader loader) {
    return new PluginRegistry(hashes, Map.of(), Map.of(), Map.of(), loader);
  }

  /** A mock plug-in of {@code kind} whose {@code name()} is {@code name}. */
  private static <T> T namedMock(Class<T> kind, String name) {
    return mock(kind, invocation -> invocation.getMethod().getName().equals("name")
        ? name : RETURNS_DEFAULTS.answer(invocation));
  }

  private static String location(Class<?> c) {
    return c.getProtectionDomain().getCodeSource().getLocation().toString();
  }

  @Test
  void twoPluginJarsClaimingOneNameFailNamingBothClassesAndBothJars() throws Exception {
    Path first = pluginJar("first-plugin.jar", DuplicateHashA.class);
    Path second = pluginJar("second-plugin.jar", DuplicateHashB.class);
    try (IsolatingLoader loader =
        new IsolatingLoader(first.toUri().toURL(), second.toUri().toURL())) {
      // The set-up really defines the plug-ins from the jars, not from the test class path.
      Class<?> a = loader.loadClass(DuplicateHashA.class.getName());
      Class<?> b = loader.loadClass(DuplicateHashB.class.getName());
      assertNotSame(DuplicateHashA.class, a);
      assertNotSame(DuplicateHashB.class, b);
      assertTrue(location(a).endsWith("first-plugin.jar"), location(a));
      assertTrue(location(b).endsWith("second-plugin.jar"), location(b));

      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> registry(Map.of(), loader));

      String message = e.getMessage();
      assertTrue(message.contains("'dup'"), message);
      assertTrue(message.contains(DuplicateHashA.class.getName()), message);
      assertTrue(message.contains(DuplicateHashB.class.getName()), message);
      assertTrue(message.contains(location(a)), message);
      assertTrue(message.contains(location(b)), message);
      assertTrue(message.contains("first-plugin.jar"), message);
      assertTrue(message.contains("second-plugin.jar"), message);
    }
  }

  @Test
  void aPluginJarClaimingABuiltInsNameFailsNamingBothClassesAndWhereTheyCameFrom()
      throws Exception {
    Path jar = pluginJar("intruder.jar", DuplicateHashB.class);
    try (IsolatingLoader loader = new IsolatingLoader(jar.toUri().toURL())) {
      HashFunction builtIn = new DuplicateHashA();

      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> registry(Map.of("dup", builtIn), loader));

      String message = e.getMessage();
      assertTrue(message.contains(DuplicateHashA.class.getName()), message);
      assertTrue(message.contains(location(DuplicateHashA.class)), message);
      assertTrue(message.contains(DuplicateHashB.class.getName()), message);
      assertTrue(message.contains("intruder.jar"), message);
    }
  }

  @Test
  void aClassFromAJarIsNotTheSameClassAsTheBuiltInOfThatName() throws Exception {
    // Same class name, but defined twice (test class path and jar): two providers, not one.
    Path jar = pluginJar("copy.jar", DuplicateHashA.class);
    try (IsolatingLoader loader = new IsolatingLoader(jar.toUri().toURL())) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> registry(Map.of("dup", new DuplicateHashA()), loader));

      assertTrue(e.getMessage().contains("copy.jar"), e.getMessage());
    }
  }

  @Test
  void aBuiltInAlsoFoundThroughServiceLoaderCountsOnce() throws Exception {
    HashFunction builtIn = new DuplicateHashA();
    try (URLClassLoader loader = servicesOnly(DuplicateHashA.class)) {
      PluginRegistry registry = registry(Map.of("dup", builtIn), loader);

      assertEquals(List.of("dup"), List.copyOf(registry.hashFunctions().keySet()));
      assertSame(builtIn, registry.hashFunction("dup"));
    }
  }

  @Test
  void aPluginFoundOnlyThroughServiceLoaderIsRegisteredUnderItsName() throws Exception {
    try (URLClassLoader loader = servicesOnly(DuplicateHashB.class)) {
      PluginRegistry registry = registry(Map.of("fnv", new NamedHash("fnv")), loader);

      assertEquals(List.of("dup", "fnv"), List.copyOf(registry.hashFunctions().keySet()));
      assertEquals(DuplicateHashB.class, registry.hashFunction("dup").getClass());
      assertEquals(2, registry.hashFunction("dup").hash(new byte[] {1}));
    }
  }

  @Test
  void theInjectedConstructorFindsPluginsThroughTheContextClassLoader() throws Exception {
    Thread thread = Thread.currentThread();
    ClassLoader saved = thread.getContextClassLoader();
    try (URLClassLoader loader = servicesOnly(DuplicateHashB.class)) {
      thread.setContextClassLoader(loader);
      PluginRegistry registry = new PluginRegistry(Map.of(), Map.of(), Map.of(), Map.of());

      assertEquals(DuplicateHashB.class, registry.hashFunction("dup").getClass());
    } finally {
      thread.setContextClassLoader(saved);
    }
  }

  @Test
  void aHashBoundUnderAKeyOtherThanItsNameIsRefused() throws Exception {
    try (URLClassLoader loader = noPlugins()) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> registry(Map.of("fnv", new NamedHash("murmur")), loader));

      String message = e.getMessage();
      assertTrue(message.contains("'fnv'"), message);
      assertTrue(message.contains("'murmur'"), message);
      assertTrue(message.contains(NamedHash.class.getName()), message);
    }
  }

  @Test
  void aDistributionProtocolOrTransportBoundUnderAnotherKeyIsRefused() throws Exception {
    Distribution distribution = namedMock(Distribution.class, "ketama");
    Protocol protocol = namedMock(Protocol.class, "redis");
    Transport transport = namedMock(Transport.class, "nio");
    try (URLClassLoader loader = noPlugins()) {
      IllegalStateException d = assertThrows(IllegalStateException.class,
          () -> new PluginRegistry(Map.of(), Map.of("modula", distribution), Map.of(), Map.of(),
              loader));
      IllegalStateException p = assertThrows(IllegalStateException.class,
          () -> new PluginRegistry(Map.of(), Map.of(), Map.of("memcache", protocol), Map.of(),
              loader));
      IllegalStateException t = assertThrows(IllegalStateException.class,
          () -> new PluginRegistry(Map.of(), Map.of(), Map.of(), Map.of("epoll", transport),
              loader));

      assertKeyNameAndClass(d, "modula", "ketama", distribution);
      assertKeyNameAndClass(p, "memcache", "redis", protocol);
      assertKeyNameAndClass(t, "epoll", "nio", transport);
    }
  }

  private static void assertKeyNameAndClass(Exception e, String key, String name, Object plugin) {
    String message = e.getMessage();
    assertTrue(message.contains("'" + key + "'"), message);
    assertTrue(message.contains("'" + name + "'"), message);
    assertTrue(message.contains(plugin.getClass().getName()), message);
  }

  @Test
  void lookupsReturnTheBoundPluginOfEachKind() throws Exception {
    HashFunction hash = new NamedHash("fnv1a_64");
    Distribution distribution = namedMock(Distribution.class, "ketama");
    Protocol protocol = namedMock(Protocol.class, "redis");
    Transport transport = namedMock(Transport.class, "nio");
    try (URLClassLoader loader = noPlugins()) {
      PluginRegistry registry = new PluginRegistry(Map.of("fnv1a_64", hash),
          Map.of("ketama", distribution), Map.of("redis", protocol), Map.of("nio", transport),
          loader);

      assertSame(hash, registry.hashFunction("fnv1a_64"));
      assertSame(distribution, registry.distribution("ketama"));
      assertSame(protocol, registry.protocol("redis"));
      assertSame(transport, registry.transport("nio"));
      assertEquals(Map.of("ketama", distribution), registry.distributions());
      assertEquals(Map.of("redis", protocol), registry.protocols());
      assertEquals(Map.of("nio", transport), registry.transports());
    }
  }

  @Test
  void anUnknownNameFailsListingTheKnownOnes() throws Exception {
    try (URLClassLoader loader = noPlugins()) {
      PluginRegistry registry = registry(
          Map.of("murmur", new NamedHash("murmur"), "crc32", new NamedHash("crc32")), loader);

      UnknownPluginException e =
          assertThrows(UnknownPluginException.class, () -> registry.hashFunction("fnv"));

      assertEquals("hash: 'fnv' is unknown (known: crc32, murmur)", e.getMessage());
    }
  }

  @Test
  void anUnknownDistributionProtocolOrTransportFailsNamingItsKind() throws Exception {
    Transport nio = namedMock(Transport.class, "nio");
    try (URLClassLoader loader = noPlugins()) {
      PluginRegistry registry =
          new PluginRegistry(Map.of(), Map.of(), Map.of(), Map.of("nio", nio), loader);

      assertEquals("distribution: 'ketama' is unknown (known: )",
          assertThrows(UnknownPluginException.class, () -> registry.distribution("ketama"))
              .getMessage());
      assertEquals("protocol: 'redis' is unknown (known: )",
          assertThrows(UnknownPluginException.class, () -> registry.protocol("redis"))
              .getMessage());
      assertEquals("transport: 'epoll' is unknown (known: nio)",
          assertThrows(UnknownPluginException.class, () -> registry.transport("epoll"))
              .getMessage());
    }
  }

  @Test
  void theRegistryIsImmutableAndSortedByName() throws Exception {
    Map<String, HashFunction> builtIns = new HashMap<>();
    builtIns.put("zeta", new NamedHash("zeta"));
    builtIns.put("alpha", new NamedHash("alpha"));
    builtIns.put("mid", new NamedHash("mid"));
    try (URLClassLoader loader = noPlugins()) {
      PluginRegistry registry = registry(builtIns, loader);

      // Changing the map it was built from changes nothing.
      builtIns.put("late", new NamedHash("late"));
      builtIns.remove("alpha");

      assertEquals(List.of("alpha", "mid", "zeta"),
          List.copyOf(registry.hashFunctions().keySet()));
      assertThrows(UnsupportedOperationException.class,
          () -> registry.hashFunctions().put("late", new NamedHash("late")));
      assertThrows(UnsupportedOperationException.class,
          () -> registry.hashFunctions().remove("alpha"));
      assertThrows(UnsupportedOperationException.class,
          () -> registry.transports().put("nio", mock(Transport.class)));
      assertThrows(UnknownPluginException.class, () -> registry.hashFunction("late"));
    }
  }
}
