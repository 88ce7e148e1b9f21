/**
 * twemproxy 0.5.0's twelve key hashes and its three distributions ({@code ketama}, {@code modula},
 * {@code random}), bit for bit, as {@link walnut.core.spi.HashFunction} and
 * {@link walnut.core.spi.Distribution} plug-ins.
 *
 * <p>Every hash reads its key with absolute {@code getByte}-style calls, never moves the buffer's
 * indices, never retains or releases it and allocates nothing, so it can run on the request path
 * of any event loop. The exact definitions, and the golden values the tests hold them to, are in
 * docs/compatibility.md#hash-functions and the golden data in {@code vectors/}.
 */
package walnut.hashing;
