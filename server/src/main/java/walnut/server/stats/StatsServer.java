package walnut.server.stats;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import walnut.core.proxy.ProxyServer;

/**
 * twemproxy's stats port: every connection receives the current stats document, then is closed;
 * nothing is read. Runs on the proxy's own event loops.
 */
public final class StatsServer implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(StatsServer.class);

  private final Channel channel;

  private StatsServer(Channel channel) {
    this.channel = channel;
  }

  public static StatsServer start(ProxyServer proxy, String address, int port)
      throws InterruptedException {
    String source = hostname();
    ServerBootstrap b = new ServerBootstrap()
        .group(proxy.eventLoops())
        .channel(proxy.transport().serverChannelClass())
        .option(ChannelOption.SO_REUSEADDR, true)
        .childHandler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
              @Override
              public void channelActive(ChannelHandlerContext ctx) {
                String json = StatsJson.render(proxy.stats(), source, System.currentTimeMillis());
                if (log.isDebugEnabled()) {
                  log.debug("stats: {} bytes to {}", json.length(), ctx.channel().remoteAddress());
                }
                ctx.writeAndFlush(ByteBufUtil.writeUtf8(ctx.alloc(), json))
                    .addListener(ChannelFutureListener.CLOSE);
              }

              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
              }

              @Override
              public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
              }
            });
          }
        });
    var future = b.bind(new InetSocketAddress(address, port)).await();
    if (!future.isSuccess()) {
      throw new IllegalStateException("bind on stats server addr '" + address + ":" + port
          + "' failed: " + future.cause().getMessage(), future.cause());
    }
    return new StatsServer(future.channel());
  }

  public int port() {
    return ((InetSocketAddress) channel.localAddress()).getPort();
  }

  private static String hostname() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      String env = System.getenv("HOSTNAME");
      return env != null ? env : "localhost";
    }
  }

  @Override
  public void close() throws InterruptedException {
    channel.close().await();
  }
}
