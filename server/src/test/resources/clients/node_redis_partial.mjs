// What node-redis returns for an MGET answered in part, at RESP2 and RESP3: one line of JSON each.
// Usage: node node_redis_partial.mjs PORT KEY...
import { createClient } from 'redis';

const [port, ...keys] = process.argv.slice(2);
for (const RESP of [2, 3]) {
  const c = createClient({ socket: { host: '127.0.0.1', port: Number(port) }, RESP });
  c.on('error', (e) => { console.error(e); process.exit(2); });
  await c.connect();
  const mget = (await c.mGet(keys)).map((v) => v instanceof Error
    ? [v.constructor.name, v.message] : [typeof v, v]);
  console.log(JSON.stringify({ RESP, mget, ping: await c.ping() }));
  await c.quit();
}
