/**
 * Shared test fixtures, for test scope only: real {@code redis-server} and {@code memcached}
 * processes on free loopback ports ({@link walnut.testing.RedisServer}, {@link
 * walnut.testing.MemcachedServer}, {@link walnut.testing.FreePorts}), Redis Sentinel over shards
 * that fail over ({@link walnut.testing.SentinelTopology}), polling instead of sleeping ({@link
 * walnut.testing.Poll}), a headless browser for the pages Walnut serves ({@link
 * walnut.testing.Chromium}), and leak checks that fail a test when Netty reports a leaked
 * buffer ({@link walnut.testing.RecordingLeakDetector}, {@link walnut.testing.LeakCheckExtension}).
 */
package walnut.testing;
