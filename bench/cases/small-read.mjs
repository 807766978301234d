// Case 4: many whole-mote reads, get(digest) against cacache get.byDigest (which verifies) and fs.readFile; and the
// same reads as streams, moteReader(digest) consumed fully against cacache get.stream.byDigest and fs.createReadStream.
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cacache } from '../adapters.mjs';
import { alternate, detailLines, drain, fmtBytes, fmtNum, median, opsps, ratioRow, shuffledIndices } from '../util.mjs';

export const title = 'Small reads';

export async function run(ctx) {
  const { lib, rounds, log } = ctx;
  const s = await ctx.smallStores();
  const n = s.data.length;
  const size = s.data[0].length;
  const order = shuffledIndices(n);
  const label = `${fmtNum(n)} reads of ${fmtBytes(size)}`;
  const check = (bytes) => {
    if (bytes !== n * size) throw new Error(`read ${bytes} bytes, expected ${n * size}`);
  };
  const loop = (fn) => async () => {
    let bytes = 0;
    for (const i of order) bytes += (await fn(i)).length;
    return bytes;
  };
  // A stream read: open, consume every chunk, count the bytes.
  const streamLoop = (open) => async () => {
    let bytes = 0;
    for (const i of order) {
      const stream = await open(i);
      if (!stream) throw new Error(`no stream for mote ${i}`);
      bytes += await drain(stream);
    }
    return bytes;
  };
  const impls = [
    lib && { name: 'motecache get', run: loop((i) => s.mote.get(s.digests[i])), check },
    { name: 'cacache get.byDigest', run: loop(async (i) => (await cacache.get.byDigest(s.cacDir, s.integrities[i]))), check },
    lib && { name: 'raw readFile', run: loop((i) => readFile(s.paths[i])), check },
    lib && { name: 'motecache get verifyOnRead', run: loop((i) => s.moteVerify.get(s.digests[i])), check },
    lib && { name: 'motecache moteReader', run: streamLoop((i) => s.mote.moteReader(s.digests[i])), check },
    { name: 'cacache get.stream.byDigest', run: streamLoop(async (i) => cacache.get.stream.byDigest(s.cacDir, s.integrities[i])), check },
    lib && { name: 'raw createReadStream', run: streamLoop(async (i) => createReadStream(s.paths[i])), check },
  ].filter(Boolean);

  const streamLabel = `${fmtNum(n)} stream reads of ${fmtBytes(size)}`;
  log(`  ${label} (get) and as streams (each consumed fully), shuffled order, warm page cache, ${rounds} rounds`);
  const times = await alternate({ rounds, impls, warmEach: true, log, sync: false });
  const m = (name, l) => ({ label: l, value: times[name]?.length ? opsps(n, median(times[name])) : undefined });
  const rows = [
    ratioRow({ id: '4a', measure: label, unit: 'gets/s', mote: m('motecache get'), base: m('cacache get.byDigest', 'cacache get.byDigest'), minRatio: 2 }),
    ratioRow({ id: '4b', measure: label, unit: 'gets/s', mote: m('motecache get'), base: m('raw readFile', 'raw fs.readFile') }),
    ratioRow({ id: '4c', measure: `${label}, verifyOnRead:'always'`, unit: 'gets/s', mote: m('motecache get verifyOnRead'), base: m('cacache get.byDigest', 'cacache get.byDigest (sha512)') }),
    ratioRow({ id: '4d', measure: `${streamLabel} through moteReader`, unit: 'reads/s', mote: m('motecache moteReader'), base: m('cacache get.stream.byDigest', 'cacache get.stream.byDigest'), minRatio: 1.5 }),
    ratioRow({ id: '4e', measure: `${streamLabel} through moteReader`, unit: 'reads/s', mote: m('motecache moteReader'), base: m('raw createReadStream', 'raw fs.createReadStream') }),
  ];
  const pick = (names) => Object.fromEntries(Object.entries(times).filter(([name]) => names.includes(name)));
  const streams = ['motecache moteReader', 'cacache get.stream.byDigest', 'raw createReadStream'];
  const details = [
    ...detailLines(pick(Object.keys(times).filter((name) => !streams.includes(name))), (ms) => opsps(n, ms), 'gets/s'),
    ...detailLines(pick(streams), (ms) => opsps(n, ms), 'reads/s'),
  ];
  return { rows, details };
}
