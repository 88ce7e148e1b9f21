package walnut.transport.nio;

import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.ServerChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import jakarta.inject.Inject;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import walnut.core.spi.Transport;

/** Netty's NIO transport: pure Java, available everywhere, the fallback of automatic selection. */
public final class NioTransport implements Transport {

  @Inject
  public NioTransport() {}

  @Override
  public String name() {
    return "nio";
  }

  @Override
  public boolean isAvailable() {
    return true;
  }

  @Override
  public Throwable unavailabilityCause() {
    return null;
  }

  @Override
  public int preference() {
    return 0;
  }

  @Override
  public IoHandlerFactory ioHandlerFactory() {
    return NioIoHandler.newFactory();
  }

  @Override
  public Class<? extends ServerChannel> serverChannelClass() {
    return NioServerSocketChannel.class;
  }

  @Override
  public Class<? extends Channel> channelClass() {
    return NioSocketChannel.class;
  }

  @Override
  public Class<? extends ServerChannel> domainServerChannelClass() {
    return NioServerDomainSocketChannel.class;
  }

  @Override
  public Class<? extends Channel> domainChannelClass() {
    return NioDomainSocketChannel.class;
  }

  @Override
  public SocketAddress domainSocketAddress(String path) {
    return UnixDomainSocketAddress.of(path);
  }

  @Override
  public ChannelOption<Boolean> reusePortOption() {
    return NioChannelOption.of(StandardSocketOptions.SO_REUSEPORT);
  }
}
