package walnut.transport.epoll;

import io.netty.channel.Channel;
import io.netty.channel.epoll.Native;
import java.lang.reflect.Method;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps an epoll channel's interest set from becoming empty (see
 * {@link EpollTransport#prepareAccepted}), through {@code AbstractEpollChannel.setFlag}, which is
 * protected in a package-private class: reached by reflection, looked up once. Should a later Netty lack the method, the
 * work-around is skipped with one warning and channels work as Netty makes them.
 */
final class EpollInterest {

  private static final Logger log = LoggerFactory.getLogger(EpollInterest.class);
  private static final Method SET_FLAG = find();

  private EpollInterest() {}

  private static Method find() {
    try {
      Method m = Class.forName("io.netty.channel.epoll.AbstractEpollChannel")
          .getDeclaredMethod("setFlag", int.class);
      m.setAccessible(true);
      return m;
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.warn("epoll: cannot keep client channels registered after a half-close ({}); a long"
          + " reply to a client that half-closes may be cut short", e.toString());
      return null;
    }
  }

  /** Adds EPOLLERR to {@code channel}'s interest set; on its event loop, once registered. */
  static void keepRegistered(Channel channel) {
    if (SET_FLAG == null || !SET_FLAG.getDeclaringClass().isInstance(channel)) {
      return;
    }
    try {
      SET_FLAG.invoke(channel, Native.EPOLLERR);
    } catch (ReflectiveOperationException e) {
      log.debug("epoll: cannot add EPOLLERR to {}'s interest set", channel, e);
    }
  }
}
