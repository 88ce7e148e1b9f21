package walnut.transport.epoll;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import jakarta.inject.Inject;
import java.net.SocketAddress;
import walnut.core.spi.Transport;

/**
 * Netty's native epoll transport (Linux x86-64). Availability and its cause are Netty's own
 * answer: the native library may be missing or refuse to load on another platform.
 */
public final class EpollTransport implements Transport {

  @Inject
  public EpollTransport() {}

  @Override
  public String name() {
    return "epoll";
  }

  @Override
  public boolean isAvailable() {
    return Epoll.isAvailable();
  }

  @Override
  public Throwable unavailabilityCause() {
    return Epoll.unavailabilityCause();
  }

  @Override
  public int preference() {
    return 10;
  }

  @Override
  public IoHandlerFactory ioHandlerFactory() {
    return EpollIoHandler.newFactory();
  }

  @Override
  public Class<? extends ServerChannel> serverChannelClass() {
    return EpollServerSocketChannel.class;
  }

  @Override
  public Class<? extends Channel> channelClass() {
    return EpollSocketChannel.class;
  }

  @Override
  public Class<? extends ServerChannel> domainServerChannelClass() {
    return EpollServerDomainSocketChannel.class;
  }

  @Override
  public Class<? extends Channel> domainChannelClass() {
    return EpollDomainSocketChannel.class;
  }

  @Override
  public SocketAddress domainSocketAddress(String path) {
    return new DomainSocketAddress(path);
  }

  @Override
  public ChannelOption<Boolean> reusePortOption() {
    return EpollChannelOption.SO_REUSEPORT;
  }
}
