package walnut.transport.iouring;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringDomainSocketChannel;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerDomainSocketChannel;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import jakarta.inject.Inject;
import java.net.SocketAddress;
import walnut.core.spi.Transport;

/**
 * Netty's native io_uring transport (Linux 5.14 and later), chosen with {@code --transport
 * io_uring}. Deep pipelines gain from it (fewer system calls per batch); clients that send one
 * request at a time do not: every write completes as an event of its own, and measured end to end
 * the machine spent 10-20 % more CPU per request than with epoll (README, "Performance"), so
 * {@code --transport auto} prefers epoll. {@link #isAvailable()} is Netty's own answer, and
 * {@link #unavailabilityCause()} its reason (an old kernel, io_uring disabled by
 * {@code kernel.io_uring_disabled}, a seccomp filter in a container).
 */
public final class IoUringTransport implements Transport {

  @Inject
  public IoUringTransport() {}

  @Override
  public String name() {
    return "io_uring";
  }

  @Override
  public boolean isAvailable() {
    return IoUring.isAvailable();
  }

  @Override
  public Throwable unavailabilityCause() {
    return IoUring.unavailabilityCause();
  }

  @Override
  public int preference() {
    return 10;
  }

  @Override
  public IoHandlerFactory ioHandlerFactory() {
    return IoUringIoHandler.newFactory();
  }

  @Override
  public Class<? extends ServerChannel> serverChannelClass() {
    return IoUringServerSocketChannel.class;
  }

  @Override
  public Class<? extends Channel> channelClass() {
    return IoUringSocketChannel.class;
  }

  @Override
  public Class<? extends ServerChannel> domainServerChannelClass() {
    return IoUringServerDomainSocketChannel.class;
  }

  @Override
  public Class<? extends Channel> domainChannelClass() {
    return IoUringDomainSocketChannel.class;
  }

  @Override
  public SocketAddress domainSocketAddress(String path) {
    return new DomainSocketAddress(path);
  }

  @Override
  public ChannelOption<Boolean> reusePortOption() {
    return IoUringChannelOption.SO_REUSEPORT;
  }
}
