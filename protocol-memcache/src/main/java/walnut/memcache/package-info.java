/**
 * The memcached plug-in: the ASCII protocol ({@code get gets gat gats set add replace append
 * prepend cas delete incr decr touch version quit}) and the meta protocol ({@code mg ms md ma mn
 * me}), request and reply decoders, and the splitting of multi-key retrievals and the merging of
 * their replies.
 *
 * <p>Where Walnut follows memcached 1.6 rather than twemproxy 0.5.0
 * (docs/compatibility.md#where-walnut-differs): twemproxy closes the connection, silently, on
 * anything it does not serve; Walnut answers what memcached answers ({@code ERROR} for an unknown
 * command, {@code CLIENT_ERROR …} for a bad argument) and keeps the connection, closing only when
 * the framing is lost. It also accepts negative expiration times, {@code gat}/{@code gats}, the
 * meta commands and {@code delete <key> 0}. The decisions taken where memcached's own behaviour
 * could not be copied are listed on {@link walnut.memcache.MemcacheRequestDecoder}.
 */
package walnut.memcache;
