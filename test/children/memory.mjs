// Streams a large mote (default 1 GiB) through moteWriter and back through moteReader, then through put() of an
// async iterable, sampling RSS and arrayBuffers all along; reports peaks relative to a baseline taken before
// any large buffer existed. Removes the mote(s) before exiting. argv: root size
import fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileMoteCache, report } from './_common.mjs';

const [root, sizeArg] = process.argv.slice(2);
const SIZE = Number(sizeArg);
const BLOCK = 1 << 20;

/** A cheap deterministic source: one random 1 MiB block, restamped with a counter every 4 KiB, fresh buffer per push. */
function makeSource(base) {
  let i = 0;
  let off = 0;
  return new Readable({
    highWaterMark: BLOCK,
    read() {
      if (off >= SIZE) return this.push(null);
      const len = Math.min(BLOCK, SIZE - off);
      const b = Buffer.allocUnsafe(len);
      base.copy(b, 0, 0, len);
      for (let p = 0; p + 4 <= len; p += 4096) b.writeUInt32LE(i, p);
      i++;
      off += len;
      this.push(b);
    },
  });
}

async function* iterate(base) {
  yield* makeSource(base);
}

const mem = () => process.memoryUsage();
let phase = 'idle';
const peaks = {};
const sampler = setInterval(() => {
  const m = mem();
  const p = (peaks[phase] ??= { rss: 0, arrayBuffers: 0, samples: 0 });
  p.rss = Math.max(p.rss, m.rss);
  p.arrayBuffers = Math.max(p.arrayBuffers, m.arrayBuffers);
  p.samples++;
}, 5);

async function measure(name, fn) {
  phase = name;
  const t0 = performance.now();
  const result = await fn();
  const m = mem(); // one last sample, in case the phase was shorter than the interval
  const p = (peaks[name] ??= { rss: 0, arrayBuffers: 0, samples: 0 });
  p.rss = Math.max(p.rss, m.rss);
  p.arrayBuffers = Math.max(p.arrayBuffers, m.arrayBuffers);
  p.ms = Math.round(performance.now() - t0);
  phase = 'idle';
  return result;
}

async function hashStream(stream) {
  const h = createHash('sha256');
  let n = 0;
  for await (const c of stream) {
    h.update(c);
    n += c.length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size: n };
}

const cache = new FileMoteCache(root, { durable: false });
await cache.initialize();
const base1 = randomBytes(BLOCK);
const base2 = randomBytes(BLOCK);
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 50));
const baseline = mem();

// The digest first, from the same generator: also shows what the source alone costs.
const expected = await measure('hash-source', () => hashStream(makeSource(base1)));
await cache.createMote(expected.digest, 'application/vnd.test.huge', SIZE);
await measure('moteWriter', async () => pipeline(makeSource(base1), await cache.moteWriter(expected.digest)));
const published = fs.statSync(cache.moteRef(expected.digest));
const readBack = await measure('moteReader', async () => hashStream(await cache.moteReader(expected.digest)));
await cache.removeMote(expected.digest);

const expected2 = await hashStream(makeSource(base2));
const putInfo = await measure('put-iterable', () => cache.put(iterate(base2), { digest: expected2.digest, size: SIZE }));
const blob2 = cache.moteRef(expected2.digest);
const put2Size = fs.statSync(blob2).size;
await cache.removeMote(expected2.digest);

clearInterval(sampler);
await cache.close();
report({
  size: SIZE,
  gcExposed: typeof globalThis.gc === 'function',
  baseline: { rss: baseline.rss, arrayBuffers: baseline.arrayBuffers },
  peaks,
  expected,
  publishedSize: published.size,
  readBack,
  put: { info: putInfo, expected: expected2, size: put2Size },
  leftAfterRemove: [fs.existsSync(cache.moteRef(expected.digest)), fs.existsSync(blob2)],
});
