package walnut.core.proxy;

import walnut.core.tls.RotatingTls;

/**
 * A pool generation's TLS: the listener's context, the servers' context (either {@code null}
 * for plain TCP), and how long a client may take over its handshake.
 */
record PoolTls(RotatingTls listener, RotatingTls backend, long clientHandshakeTimeoutMillis) {

  static final PoolTls NONE = new PoolTls(null, null, 0);
}
