package walnut.core.proxy;

import io.netty.util.concurrent.ImmediateExecutor;
import java.util.concurrent.Executor;
import walnut.core.tls.RotatingTls;

/**
 * A pool generation's TLS: the listener's context, the servers' context (either {@code null}
 * for plain TCP), how long a client may take over its handshake, and where the handshakes' heavy
 * steps run ({@link walnut.core.tls.TlsContexts#handshakeTasks}).
 */
record PoolTls(RotatingTls listener, RotatingTls backend, long clientHandshakeTimeoutMillis,
    Executor handshakeTasks) {

  static final PoolTls NONE = new PoolTls(null, null, 0, ImmediateExecutor.INSTANCE);
}
