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
 * Netty's native epoll transport (Linux x86-64): {@code --transport auto}'s first choice, the
 * engine twemproxy itself uses, and the cheapest per request for clients that do not pipeline
 * (see {@code IoUringTransport}). Availability and its cause are Netty's own answer: the native
 * library may be missing or refuse to load on another platform.
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
    return 20;
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

  /**
   * Works around a defect of Netty 4.2's epoll registration: when a channel's interest set becomes
   * empty, Netty removes the descriptor from epoll but remembers it as added, so the next interest
   * (EPOLLOUT for a write the kernel could not take at once) fails with {@code epoll_ctl: ENOENT}
   * and the write is lost. A client that half-closes (FIN) while a long reply streams to it
   * reaches exactly that state: reading is off, EPOLLRDHUP cleared, and between two pieces of the
   * reply nothing is being written. Adding EPOLLERR to the interest set keeps it from ever being
   * empty; epoll reports errors whether asked or not, so nothing else changes.
   */
  @Override
  public void prepareAccepted(Channel channel) {
    EpollInterest.keepRegistered(channel);
  }
}
