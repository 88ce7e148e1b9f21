package walnut.core.spi;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.EventLoop;
import walnut.core.config.Endpoint;
import walnut.core.config.PoolConfig;
import walnut.core.stats.SentinelStats;

/**
 * Finds where a pool's servers are now, for a pool whose servers move while their names, and so
 * their keys, stay: Redis Sentinel ({@link Protocol#locator}). The engine starts one
 * {@link Watch} per pool generation, on one event loop, and closes it when the generation is
 * superseded; the watch reports each server's address through {@link Context#located}.
 */
public interface ServerLocator {

  /** Starts watching for the pool {@code context} describes; returns at once. */
  Watch watch(Context context);

  /** What the engine gives a watch. */
  interface Context {
    PoolConfig pool();

    /** The event loop the watch runs on; every callback of the context may be called from it. */
    EventLoop loop();

    /**
     * Opens a TCP connection to {@code endpoint} on {@link #loop()}, over the pool's transport,
     * with {@code initializer} setting up its pipeline; the connect times out after the pool's
     * {@code timeout} (1 s without one).
     */
    ChannelFuture open(Endpoint endpoint, ChannelHandler initializer);

    /** Where server {@code server} (an index into the pool's sorted servers) is now. */
    Endpoint address(int server);

    /**
     * Server {@code server} is at {@code address}: new requests go there, connections to its old
     * address finish what was sent on them and close. {@code failover}: a failover moved it (it
     * counts in the stats), rather than a first answer correcting the configured address.
     * {@code source} says who said so, for the log. Returns false when it was already there.
     */
    boolean located(int server, Endpoint address, boolean failover, String source);

    /** The first round of questions is over, answered or not: the proxy may serve. */
    void ready();

    /** Where the watch reports the sentinels' state. */
    SentinelStats stats();
  }

  /** One generation's watch. */
  interface Watch {
    /**
     * Asks again now, because server {@code server} answered as no master would ({@code why},
     * for the log): a connection found a replica, or a write was refused read-only. Any thread.
     */
    void refresh(int server, String why);

    /** Stops watching and closes the watch's connections. Any thread. */
    void close();
  }
}
