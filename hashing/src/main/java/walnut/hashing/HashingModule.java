package walnut.hashing;

import dagger.Binds;
import dagger.Module;
import dagger.multibindings.IntoMap;
import dagger.multibindings.StringKey;
import walnut.core.spi.Distribution;
import walnut.core.spi.HashFunction;

/**
 * Registers twemproxy's twelve hashes and three distributions under their config names. Each map
 * key equals the plug-in's {@code name()}; the plugin registry refuses a mismatch. The same
 * classes are listed in {@code META-INF/services} for {@link java.util.ServiceLoader}.
 */
@Module
public interface HashingModule {

  @Binds @IntoMap @StringKey("one_at_a_time")
  HashFunction oneAtATime(OneAtATimeHash hash);

  @Binds @IntoMap @StringKey("md5")
  HashFunction md5(Md5Hash hash);

  @Binds @IntoMap @StringKey("crc16")
  HashFunction crc16(Crc16Hash hash);

  @Binds @IntoMap @StringKey("crc32")
  HashFunction crc32(Crc32Hash hash);

  @Binds @IntoMap @StringKey("crc32a")
  HashFunction crc32a(Crc32aHash hash);

  @Binds @IntoMap @StringKey("fnv1_64")
  HashFunction fnv164(Fnv164Hash hash);

  @Binds @IntoMap @StringKey("fnv1a_64")
  HashFunction fnv1a64(Fnv1a64Hash hash);

  @Binds @IntoMap @StringKey("fnv1_32")
  HashFunction fnv132(Fnv132Hash hash);

  @Binds @IntoMap @StringKey("fnv1a_32")
  HashFunction fnv1a32(Fnv1a32Hash hash);

  @Binds @IntoMap @StringKey("hsieh")
  HashFunction hsieh(HsiehHash hash);

  @Binds @IntoMap @StringKey("murmur")
  HashFunction murmur(MurmurHash hash);

  @Binds @IntoMap @StringKey("jenkins")
  HashFunction jenkins(JenkinsHash hash);

  @Binds @IntoMap @StringKey("ketama")
  Distribution ketama(KetamaDistribution distribution);

  @Binds @IntoMap @StringKey("modula")
  Distribution modula(ModulaDistribution distribution);

  @Binds @IntoMap @StringKey("random")
  Distribution random(RandomDistribution distribution);
}
