// Case 3: many small puts (distinct random contents, one awaited put at a time) against cacache put and a plain
// node:fs write+rename store.
import { join } from 'node:path';
import { cacache, closeMote, openMote, RawSmallStore } from '../adapters.mjs';
import { alternate, detailLines, fmtBytes, fmtNum, freshDir, median, opsps, ratioRow, rmrf } from '../util.mjs';

export const title = 'Small puts';

export async function run(ctx) {
  const { lib, tmp, rounds, log } = ctx;
  const data = ctx.smallData();
  const n = data.length;
  const label = `${fmtNum(n)} puts of ${fmtBytes(data[0].length)}`;
  const dir = (r, name) => join(tmp, `small-put-r${r}-${name.replace(/[^a-z0-9]+/gi, '_')}`);
  const countCheck = (count) => {
    if (count !== n) throw new Error(`${count} puts, expected ${n}`);
  };

  const moteImpl = (name, durable) => ({
    name,
    setup: async (r) => ({ dir: dir(r, name), cache: await openMote(lib, dir(r, name), { durable }) }),
    run: async ({ cache }) => {
      for (let i = 0; i < n; i++) await cache.put(data[i]);
      return n;
    },
    check: countCheck,
    teardown: async ({ cache, dir: d }) => {
      await closeMote(cache);
      await rmrf(d);
    },
  });
  const rawImpl = (name, durable) => ({
    name,
    setup: async (r) => {
      const s = new RawSmallStore(dir(r, name), { durable });
      await s.init();
      return s;
    },
    run: async (s) => {
      for (let i = 0; i < n; i++) await s.put(data[i]);
      return n;
    },
    check: countCheck,
    teardown: (s) => s.destroy(),
  });
  const impls = [
    lib && moteImpl('motecache durable:false', false),
    rawImpl('raw write+rename', false),
    {
      name: 'cacache put',
      setup: async (r) => freshDir(dir(r, 'cacache')),
      run: async (d) => {
        for (let i = 0; i < n; i++) await cacache.put(d, `k${i}`, data[i]);
        return n;
      },
      check: countCheck,
      teardown: rmrf,
    },
    lib && moteImpl('motecache durable:true', true),
    rawImpl('raw write+fsync+rename', true),
  ].filter(Boolean);

  log(`  ${label}, sequential, ${rounds} rounds`);
  const times = await alternate({ rounds, impls, log });
  const m = (name, l) => ({ label: l, value: times[name]?.length ? opsps(n, median(times[name])) : undefined });
  const rows = [
    ratioRow({ id: '3a', measure: `${label}, durable:false`, unit: 'puts/s', mote: m('motecache durable:false'), base: m('cacache put', 'cacache put'), minRatio: 3 }),
    ratioRow({ id: '3b', measure: `${label}, durable:true`, unit: 'puts/s', mote: m('motecache durable:true'), base: m('cacache put', 'cacache put (no fsync)'), minRatio: 1 }),
    ratioRow({ id: '3c', measure: `${label}, durable:false`, unit: 'puts/s', mote: m('motecache durable:false'), base: m('raw write+rename', 'raw sha256+writeFile+rename') }),
    ratioRow({ id: '3d', measure: `${label}, durable:true`, unit: 'puts/s', mote: m('motecache durable:true'), base: m('raw write+fsync+rename', 'raw sha256+write+fsync+rename+dir fsync') }),
  ];
  return { rows, details: detailLines(times, (ms) => opsps(n, ms), 'puts/s') };
}
