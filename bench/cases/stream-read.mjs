// Case 2: stream read of one large mote: moteReader vs fs.createReadStream of the blob file, and the verifying
// reader vs cacache get.stream.byDigest (which checks sha512). All reads are from a warm page cache.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { cacache, cacachePutStream, closeMote, openMote } from '../adapters.mjs';
import { alternate, chunkSource, detailLines, drain, fmtBytes, freshDir, median, mibps, MiB, ratioRow, rmrf } from '../util.mjs';

export const title = 'Stream read';

export async function run(ctx) {
  const { lib, tmp, rounds, log } = ctx;
  const chunks = ctx.bigChunks();
  const total = chunks.length * MiB;
  const label = fmtBytes(total);
  const moteDir = join(tmp, 'read-mote');
  const cacDir = await freshDir(join(tmp, 'read-cacache'));

  // Setup (untimed): one copy in each store.
  let mote, moteVerify, digest, blobPath;
  if (lib) {
    mote = await openMote(lib, moteDir, { durable: false });
    ({ digest } = await mote.put(chunkSource(chunks)));
    moteVerify = await openMote(lib, moteDir, { durable: false, verifyOnRead: 'always' }, { fresh: false });
    blobPath = mote.moteRef(digest);
  }
  const integrity = await cacachePutStream(cacDir, 'big', chunkSource(chunks));

  const checkSize = (n) => {
    if (n !== total) throw new Error(`read ${n} bytes, expected ${total}`);
  };
  const impls = [
    lib && { name: 'motecache moteReader', run: async () => drain(await mote.moteReader(digest)), check: checkSize },
    lib && { name: 'raw createReadStream 1M', run: async () => drain(createReadStream(blobPath, { highWaterMark: MiB })), check: checkSize },
    lib && { name: 'raw createReadStream', run: async () => drain(createReadStream(blobPath)), check: checkSize },
    lib && {
      name: 'raw read+sha256',
      run: async () => {
        const h = createHash('sha256');
        let n = 0;
        for await (const c of createReadStream(blobPath, { highWaterMark: MiB })) {
          h.update(c);
          n += c.length;
        }
        if (`sha256:${h.digest('hex')}` !== digest) throw new Error('raw read+sha256 mismatch');
        return n;
      },
      check: checkSize,
    },
    lib && { name: "motecache verifyOnRead", run: async () => drain(await moteVerify.moteReader(digest)), check: checkSize },
    { name: 'cacache get.stream.byDigest', run: async () => drain(cacache.get.stream.byDigest(cacDir, integrity)), check: checkSize },
  ].filter(Boolean);

  log(`  ${label}, warm page cache, ${rounds} rounds (each timed pass right after an untimed one of the same reader)`);
  const times = await alternate({ rounds, impls, warmEach: true, log });

  if (lib) {
    await closeMote(moteVerify);
    await closeMote(mote);
  }
  await rmrf(moteDir);
  await rmrf(cacDir);

  const m = (name, l) => ({ label: l, value: times[name]?.length ? mibps(total, median(times[name])) : undefined });
  const rows = [
    ratioRow({ id: '2a', measure: `Stream read ${label}`, unit: 'MiB/s', mote: m('motecache moteReader'), base: m('raw createReadStream 1M', 'raw fs.createReadStream, 1 MiB chunks'), minRatio: 0.9 }),
    ratioRow({ id: '2b', measure: `Stream read ${label}`, unit: 'MiB/s', mote: m('motecache moteReader'), base: m('raw createReadStream', 'raw fs.createReadStream, default 64 KiB chunks') }),
    ratioRow({ id: '2c', measure: `Stream read ${label}, verifyOnRead:'always'`, unit: 'MiB/s', mote: m('motecache verifyOnRead'), base: m('cacache get.stream.byDigest', 'cacache get.stream.byDigest (sha512)'), minRatio: 2 }),
    ratioRow({ id: '2d', measure: `Stream read ${label}, verifyOnRead:'always'`, unit: 'MiB/s', mote: m('motecache verifyOnRead'), base: m('raw read+sha256', 'raw createReadStream+sha256, 1 MiB chunks') }),
  ];
  return { rows, details: detailLines(times, (ms) => mibps(total, ms), 'MiB/s') };
}
