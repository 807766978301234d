// Multi-process writer: writes every shared mote (the same digests the other writers write) each round,
// concurrently, by a method that differs per writer/round, plus motes only it writes.
// argv[2]: JSON { root, manifest, index, rounds, durable, distinct }
import fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { FileMoteCache, chunked, errorInfo, report, waitForGo } from './_common.mjs';

const cfg = JSON.parse(process.argv[2]);
const manifest = JSON.parse(fs.readFileSync(cfg.manifest, 'utf8'));
const motes = manifest.map((m) => ({ ...m, data: fs.readFileSync(m.path) }));
const cache = new FileMoteCache(cfg.root, { durable: cfg.durable });
await cache.initialize();

const METHODS = ['moteWriter', 'put-buffer', 'put-stream'];
const result = { index: cfg.index, writes: 0, byMethod: { moteWriter: 0, 'put-buffer': 0, 'put-stream': 0 }, errors: [], distinct: [] };

async function writeOne(m, method) {
  try {
    if (method === 'moteWriter') {
      const info = await cache.createMote(m.digest, m.mediaType, m.size);
      if (info.digest !== m.digest || info.size !== m.size) throw new Error(`createMote echoed ${JSON.stringify(info)}`);
      await pipeline(chunked(m.data), await cache.moteWriter(m.digest));
    } else {
      const source = method === 'put-buffer' ? m.data : chunked(m.data);
      const info = await cache.put(source, { digest: m.digest, size: m.size, mediaType: m.mediaType });
      if (info.digest !== m.digest || info.size !== m.size) throw new Error(`put returned ${JSON.stringify(info)}`);
    }
    result.writes++;
    result.byMethod[method]++;
  } catch (err) {
    result.errors.push({ digest: m.digest, method, ...errorInfo(err) });
  }
}

process.stdout.write('READY\n');
await waitForGo();

for (let round = 0; round < cfg.rounds; round++) {
  const jobs = motes.map((m, i) => writeOne(m, METHODS[(i + cfg.index + round) % METHODS.length]));
  // Motes only this writer has, written alongside the shared ones.
  for (let k = 0; k < cfg.distinct; k++) {
    const data = randomBytes(1024 + ((k * 97_531 + cfg.index * 13_579 + round * 7) % (300 * 1024)));
    const m = { digest: `sha256:${createHash('sha256').update(data).digest('hex')}`, size: data.length, mediaType: 'application/vnd.test.distinct', data };
    result.distinct.push({ digest: m.digest, size: m.size });
    jobs.push(writeOne(m, METHODS[k % METHODS.length]));
  }
  await Promise.all(jobs);
}
await cache.close();
report(result);
