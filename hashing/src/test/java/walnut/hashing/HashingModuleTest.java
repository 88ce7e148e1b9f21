package walnut.hashing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dagger.Component;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import walnut.core.spi.Distribution;
import walnut.core.spi.HashFunction;

/** The Dagger bindings and the {@code META-INF/services} files list the same plug-ins. */
class HashingModuleTest {

  @Component(modules = HashingModule.class)
  interface TestComponent {
    Map<String, HashFunction> hashFunctions();

    Map<String, Distribution> distributions();
  }

  private final TestComponent component = DaggerHashingModuleTest_TestComponent.create();

  @Test
  void bindsTheTwelveHashesUnderTheirOwnNames() {
    Map<String, HashFunction> hashes = component.hashFunctions();
    assertEquals(Set.of("one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64",
        "fnv1a_64", "fnv1_32", "fnv1a_32", "hsieh", "murmur", "jenkins"), hashes.keySet());
    hashes.forEach((key, hash) -> assertEquals(key, hash.name()));
  }

  @Test
  void bindsTheThreeDistributionsUnderTheirOwnNames() {
    Map<String, Distribution> distributions = component.distributions();
    assertEquals(Set.of("ketama", "modula", "random"), distributions.keySet());
    distributions.forEach((key, distribution) -> assertEquals(key, distribution.name()));
  }

  @Test
  void serviceLoaderFindsTheSameHashes() {
    assertEquals(classes(component.hashFunctions()),
        loaded(HashFunction.class, HashFunction::name));
  }

  @Test
  void serviceLoaderFindsTheSameDistributions() {
    assertEquals(classes(component.distributions()),
        loaded(Distribution.class, Distribution::name));
  }

  private static Map<String, Class<?>> classes(Map<String, ?> plugins) {
    return plugins.entrySet().stream()
        .collect(Collectors.toMap(Map.Entry::getKey, entry -> entry.getValue().getClass()));
  }

  private static <T> Map<String, Class<?>> loaded(Class<T> type, Function<T, String> name) {
    return ServiceLoader.load(type).stream().map(ServiceLoader.Provider::get)
        .collect(Collectors.toMap(name, plugin -> plugin.getClass()));
  }
}
