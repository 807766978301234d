// Case 4: many whole-mote reads, get(digest) against cacache get.byDigest (which verifies) and fs.readFile.
import { readFile } from 'node:fs/promises';
import { cacache } from '../adapters.mjs';
import { alternate, detailLines, fmtBytes, fmtNum, median, opsps, ratioRow, shuffledIndices } from '../util.mjs';

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
  const impls = [
    lib && { name: 'motecache get', run: loop((i) => s.mote.get(s.digests[i])), check },
    { name: 'cacache get.byDigest', run: loop(async (i) => (await cacache.get.byDigest(s.cacDir, s.integrities[i]))), check },
    lib && { name: 'raw readFile', run: loop((i) => readFile(s.paths[i])), check },
    lib && { name: 'motecache get verifyOnRead', run: loop((i) => s.moteVerify.get(s.digests[i])), check },
  ].filter(Boolean);

  log(`  ${label}, shuffled order, warm page cache, ${rounds} rounds`);
  const times = await alternate({ rounds, impls, warmEach: true, log, sync: false });
  const m = (name, l) => ({ label: l, value: times[name]?.length ? opsps(n, median(times[name])) : undefined });
  const rows = [
    ratioRow({ id: '4a', measure: label, unit: 'gets/s', mote: m('motecache get'), base: m('cacache get.byDigest', 'cacache get.byDigest'), minRatio: 2 }),
    ratioRow({ id: '4b', measure: label, unit: 'gets/s', mote: m('motecache get'), base: m('raw readFile', 'raw fs.readFile') }),
    ratioRow({ id: '4c', measure: `${label}, verifyOnRead:'always'`, unit: 'gets/s', mote: m('motecache get verifyOnRead'), base: m('cacache get.byDigest', 'cacache get.byDigest (sha512)') }),
  ];
  return { rows, details: detailLines(times, (ms) => opsps(n, ms), 'gets/s') };
}
