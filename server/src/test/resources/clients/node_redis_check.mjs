// The same commands through any Redis endpoint with node-redis at its default settings; prints
// what came back as JSON, for Resp3ClientLibrariesIT to compare Walnut's answers with a server's.
import { createClient } from 'redis';
import { createRequire } from 'module';

const [port, prefix] = process.argv.slice(2);
const k = (name) => prefix + name;
const version = createRequire(import.meta.url)('redis/package.json').version;
const c = createClient({ socket: { host: '127.0.0.1', port: Number(port) } });
c.on('error', (e) => { console.error(e); process.exit(2); });
await c.connect();
const out = { library: 'node-redis ' + version };
const hello = await c.sendCommand(['HELLO']);
out.proto = hello instanceof Map ? hello.get('proto') : Array.isArray(hello)
  ? hello[hello.indexOf('proto') + 1] : hello.proto;
await c.set(k('s'), 'v');
out.get = await c.get(k('s'));
out.counters = [await c.incr(k('n')), await c.incrBy(k('n'), 5), await c.decr(k('n')),
  await c.incrByFloat(k('f'), 1.25)];
await c.hSet(k('h'), { a: '1', b: '2' });
out.hgetall = await c.hGetAll(k('h'));
await c.sAdd(k('set'), ['x', 'y', 'z']);
out.smembers = [...await c.sMembers(k('set'))].sort();
await c.zAdd(k('z'), [{ score: 1.5, value: 'a' }, { score: 2.25, value: 'b' }, { score: -3, value: 'c' }]);
out.zrange = await c.zRangeWithScores(k('z'), 0, -1);
out.zscore = await c.zScore(k('z'), 'b');
await c.rPush(k('l'), ['1', '2', '3']);
out.lrange = await c.lRange(k('l'), 0, -1);
out.mget = await c.mGet([k('s'), k('missing'), k('n'), k('also-missing')]);
out.exists = await c.exists([k('s'), k('missing'), k('n')]);
const pending = [];
for (let i = 0; i < 1000; i++) {
  if (i % 3 === 0) pending.push(c.set(k('p' + (i % 50)), String(i)));
  else if (i % 3 === 1) pending.push(c.incr(k('c' + (i % 7))));
  else pending.push(c.get(k('p' + (i % 50))));
}
out.pipeline = await Promise.all(pending);
out.delete = await c.del([...Array(50).keys()].map((i) => k('p' + i)));
// Maps as objects, every object's keys sorted, so the two runs compare as text.
const plain = (o) => o instanceof Map ? plain(Object.fromEntries(o))
  : Array.isArray(o) ? o.map(plain)
  : o !== null && typeof o === 'object'
    ? Object.fromEntries(Object.keys(o).sort().map((key) => [key, plain(o[key])])) : o;
console.log(JSON.stringify(plain(out)));
c.destroy();
