package walnut.core.proxy;

import io.netty.resolver.AddressResolver;
import io.netty.resolver.AddressResolverGroup;
import io.netty.resolver.InetNameResolver;
import io.netty.resolver.InetSocketAddressResolver;
import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Promise;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;

/**
 * Resolves server host names as twemproxy does, with the system resolver ({@code getaddrinfo}
 * through {@link InetAddress}, so {@code /etc/hosts} and nsswitch apply) on every new connection,
 * but on a few resolver threads instead of the event loop: a slow DNS server must not stall the
 * clients of every other server on that loop. IP literals are parsed in place.
 */
final class OffloadedResolverGroup extends AddressResolverGroup<InetSocketAddress> {

  private final ExecutorService lookups;

  OffloadedResolverGroup(ExecutorService lookups) {
    this.lookups = lookups;
  }

  @Override
  protected AddressResolver<InetSocketAddress> newResolver(EventExecutor executor) {
    return new InetSocketAddressResolver(executor, new Resolver(executor, lookups));
  }

  private static final class Resolver extends InetNameResolver {
    private final ExecutorService lookups;

    Resolver(EventExecutor executor, ExecutorService lookups) {
      super(executor);
      this.lookups = lookups;
    }

    @Override
    protected void doResolve(String host, Promise<InetAddress> promise) {
      byte[] literal = NetUtil.createByteArrayFromIpAddressString(host);
      if (literal != null) {
        try {
          promise.setSuccess(InetAddress.getByAddress(host, literal));
        } catch (UnknownHostException e) {
          promise.setFailure(e);
        }
        return;
      }
      lookups.execute(() -> {
        try {
          promise.trySuccess(InetAddress.getByName(host));
        } catch (UnknownHostException | RuntimeException e) {
          promise.tryFailure(e);
        }
      });
    }

    @Override
    protected void doResolveAll(String host, Promise<List<InetAddress>> promise) {
      lookups.execute(() -> {
        try {
          promise.trySuccess(Arrays.asList(InetAddress.getAllByName(host)));
        } catch (UnknownHostException | RuntimeException e) {
          promise.tryFailure(e);
        }
      });
    }
  }
}
