// Multi-process reader: until the stop file appears, reads random shared motes and checks every byte.
// A read either fails with MoteNotFoundError (never written yet, or pruned) or yields exactly the content.
// argv[2]: JSON { root, manifest, stopFile, linkOnRead }
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { FileMoteCache, errorInfo, report, waitForGo } from './_common.mjs';

const cfg = JSON.parse(process.argv[2]);
const motes = JSON.parse(fs.readFileSync(cfg.manifest, 'utf8'));
const cache = new FileMoteCache(cfg.root, { linkOnRead: cfg.linkOnRead, durable: false });
await cache.initialize();
const result = { reads: 0, hits: 0, hitsAt: 0, notFound: 0, bad: [], errors: [] };

async function readStream(m) {
  const stream = await cache.moteReader(m.digest);
  const h = createHash('sha256');
  let n = 0;
  for await (const chunk of stream) {
    h.update(chunk);
    n += chunk.length;
  }
  return { digest: `sha256:${h.digest('hex')}`, size: n };
}

async function readAt(m) {
  const r = await cache.moteReaderAt(m.digest);
  try {
    const h = createHash('sha256');
    const buf = Buffer.alloc(200_000);
    let pos = 0;
    for (;;) {
      const n = await r.read(buf, 0, buf.length, pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
      await new Promise((res) => setImmediate(res)); // let prune/writers act mid-read
    }
    return { digest: `sha256:${h.digest('hex')}`, size: pos, reported: r.size };
  } finally {
    await r.close();
  }
}

process.stdout.write('READY\n');
await waitForGo();
let i = 0;
while (!fs.existsSync(cfg.stopFile)) {
  const m = motes[Math.floor(Math.random() * motes.length)];
  const useAt = i++ % 3 === 2;
  result.reads++;
  try {
    const got = useAt ? await readAt(m) : await readStream(m);
    if (got.digest !== m.digest || got.size !== m.size || (useAt && got.reported !== m.size)) {
      result.bad.push({ expected: m.digest, size: m.size, got });
    } else if (useAt) result.hitsAt++;
    else result.hits++;
  } catch (err) {
    if (err?.code === 'ERR_MOTE_NOT_FOUND') result.notFound++;
    else result.errors.push({ digest: m.digest, ...errorInfo(err) });
  }
  if (result.reads % 8 === 0) await new Promise((res) => setTimeout(res, 1));
}
await cache.close();
report(result);
