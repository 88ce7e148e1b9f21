package walnut.core.spi;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import java.net.SocketAddress;

/**
 * An I/O engine ({@code nio}, {@code epoll}, …): the Netty {@link IoHandlerFactory} for the event
 * loops and the channel classes that go with it.
 *
 * <p>Contract: thread-safe; {@link #isAvailable()} is cheap and never throws (a native transport
 * whose library cannot load answers {@code false} and explains why in
 * {@link #unavailabilityCause()}). With {@code --transport auto} the server picks the available
 * transport with the highest {@link #preference()}.
 */
public interface Transport {

  /** The name the command line uses. */
  String name();

  boolean isAvailable();

  /** Why the transport is not available, or {@code null} when it is. */
  Throwable unavailabilityCause();

  /** Higher is preferred by automatic selection. */
  int preference();

  IoHandlerFactory ioHandlerFactory();

  Class<? extends ServerChannel> serverChannelClass();

  Class<? extends Channel> channelClass();

  /**
   * The option that sets SO_REUSEPORT on a listening socket, or {@code null} when the transport
   * cannot set it (then a pool with {@code reuseport: true} cannot start).
   */
  default ChannelOption<Boolean> reusePortOption() {
    return null;
  }

  /**
   * The listening channel class for unix domain sockets, or {@code null} when the transport has
   * none (then a pool that listens on, or connects to, a socket path cannot start).
   */
  default Class<? extends ServerChannel> domainServerChannelClass() {
    return null;
  }

  /** The connecting channel class for unix domain sockets, or {@code null}. */
  default Class<? extends Channel> domainChannelClass() {
    return null;
  }

  /**
   * Called on its event loop for every accepted client channel, once registered, before the
   * proxy's handlers see it: a transport's chance to set the channel up, or to work around a
   * defect of its own. Does nothing by default.
   */
  default void prepareAccepted(Channel channel) {}

  /** The address of the unix domain socket at {@code path}, in the form the channels take. */
  default SocketAddress domainSocketAddress(String path) {
    throw new UnsupportedOperationException(name() + " has no unix domain sockets");
  }
}
