// Case 5: presence checks on present digests, moteExists against cacache get.hasContent and fs.stat.
import { stat } from 'node:fs/promises';
import { cacache } from '../adapters.mjs';
import { alternate, detailLines, fmtNum, median, opsps, ratioRow, shuffledIndices } from '../util.mjs';

export const title = 'Exists';

export async function run(ctx) {
  const { lib, rounds, log } = ctx;
  const s = await ctx.smallStores();
  const n = s.data.length;
  const order = shuffledIndices(n, 777);
  const label = `${fmtNum(n)} presence checks`;
  const check = (hits) => {
    if (hits !== n) throw new Error(`${hits} present, expected ${n}`);
  };
  const loop = (fn) => async () => {
    let hits = 0;
    for (const i of order) if (await fn(i)) hits++;
    return hits;
  };
  const impls = [
    lib && { name: 'motecache moteExists', run: loop((i) => s.mote.moteExists(s.digests[i])), check },
    { name: 'cacache get.hasContent', run: loop((i) => cacache.get.hasContent(s.cacDir, s.integrities[i])), check },
    lib && { name: 'raw fs.stat', run: loop(async (i) => (await stat(s.paths[i])).isFile()), check },
  ].filter(Boolean);

  log(`  ${label}, shuffled order, ${rounds} rounds`);
  const times = await alternate({ rounds, impls, warmEach: true, log, sync: false });
  const m = (name, l) => ({ label: l, value: times[name]?.length ? opsps(n, median(times[name])) : undefined });
  const rows = [
    ratioRow({ id: '5a', measure: label, unit: 'checks/s', mote: m('motecache moteExists'), base: m('cacache get.hasContent', 'cacache get.hasContent'), minRatio: 2 }),
    ratioRow({ id: '5b', measure: label, unit: 'checks/s', mote: m('motecache moteExists'), base: m('raw fs.stat', 'raw fs.stat') }),
  ];
  return { rows, details: detailLines(times, (ms) => opsps(n, ms), 'checks/s') };
}
