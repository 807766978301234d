// Reads motes from a cache this process may not write to (run as another user, or on a read-only mount).
// argv[2]: JSON { root, digests, options }
// stdout: a JSON report: per digest and read path, the sha256 of what was read or the error; `uid`.
import { createHash } from 'node:crypto';
import { FileMoteCache, errorInfo, report } from './_common.mjs';

const cfg = JSON.parse(process.argv[2]);
const cache = new FileMoteCache(cfg.root, cfg.options ?? {});
const sha = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const reads = {
  get: async (d) => cache.get(d),
  moteReader: async (d) => {
    const chunks = [];
    for await (const c of await cache.moteReader(d)) chunks.push(c);
    return Buffer.concat(chunks);
  },
  moteReaderAt: async (d) => {
    const r = await cache.moteReaderAt(d);
    try {
      const b = Buffer.alloc(r.size);
      let off = 0;
      while (off < r.size) off += await r.read(b, off, r.size - off, off);
      return b;
    } finally {
      await r.close();
    }
  },
};
const results = [];
for (const digest of cfg.digests) {
  for (const [how, read] of Object.entries(reads)) {
    try {
      results.push({ digest, how, actual: sha(await read(digest)) });
    } catch (err) {
      results.push({ digest, how, error: errorInfo(err) });
    }
  }
}
await cache.close();
report({ uid: process.getuid(), results });
