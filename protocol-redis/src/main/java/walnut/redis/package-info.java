/**
 * The Redis protocol plug-in: RESP2 request and reply decoders, twemproxy 0.5.0's command table,
 * the splitting of multi-key commands and the merging of their replies, and the commands the proxy
 * answers itself (PING, QUIT, AUTH, ECHO, SELECT 0, CLIENT SETNAME/GETNAME/SETINFO, HELLO).
 *
 * <p>Where Walnut deliberately differs from twemproxy (docs/compatibility.md#where-walnut-differs):
 * a well-framed request the proxy cannot serve gets an error reply and the connection stays open;
 * only broken framing closes it, after a {@code -ERR Protocol error: …} reply, as Redis itself
 * does. Inline commands are accepted and converted to RESP; EXISTS with several keys is split and
 * summed.
 */
package walnut.redis;
