// Case 7: full-store verification throughput, motecache verify() against cacache verify, on the same contents.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacache, closeMote, openMote } from '../adapters.mjs';
import { alternate, detailLines, fmtBytes, fmtNum, freshDir, median, mibps, MiB, pool, randomBuffers, ratioRow, rmrf } from '../util.mjs';

export const title = 'Verify';

export async function run(ctx) {
  const { lib, tmp, log, sizes } = ctx;
  // cacache verify takes ~10 s on these contents: three rounds keep the whole bench within its time budget.
  const rounds = Math.min(ctx.rounds, sizes.verifyRounds);
  const data = [
    ...randomBuffers(sizes.verifyCount, sizes.verifySize),
    ...randomBuffers(sizes.verifyBigCount, sizes.verifyBigSize),
  ];
  const total = data.reduce((a, d) => a + d.length, 0);
  const label = `Verify ${fmtNum(sizes.verifyCount)} × ${fmtBytes(sizes.verifySize)} + ${sizes.verifyBigCount} × ${fmtBytes(sizes.verifyBigSize)} (${fmtBytes(total)})`;

  const moteDir = join(tmp, 'verify-mote');
  const cacDir = await freshDir(join(tmp, 'verify-cacache'));
  let mote, paths;
  if (lib) {
    mote = await openMote(lib, moteDir, { durable: false });
    const digests = new Array(data.length);
    await pool(data, 8, async (d, i) => {
      digests[i] = (await mote.put(d)).digest;
    });
    paths = digests.map((d) => mote.moteRef(d));
  }
  await pool(data, 8, (d, i) => cacache.put(cacDir, `k${i}`, d));

  // Bytes each run reports having checked (motecache) or kept after verification (cacache); rates use `total`.
  const checked = {};
  const impls = [
    lib && {
      name: 'motecache verify',
      run: () => mote.verify(),
      check: (res) => {
        if (res.corrupt.length) throw new Error(`motecache verify found ${res.corrupt.length} corrupt`);
        if (res.checked !== data.length) throw new Error(`motecache verify checked ${res.checked}, expected ${data.length}`);
        checked['motecache verify'] = res.bytes;
      },
    },
    {
      name: 'cacache verify',
      run: () => cacache.verify(cacDir),
      check: (st) => {
        if (st.verifiedContent !== data.length || st.badContentCount) {
          throw new Error(`cacache verify: ${st.verifiedContent} verified, ${st.badContentCount} bad`);
        }
        checked['cacache verify'] = st.keptSize;
      },
    },
    lib && {
      name: 'raw readFile+sha256 ×4',
      run: async () => {
        let bytes = 0;
        await pool(paths, 4, async (p) => {
          const buf = await readFile(p);
          createHash('sha256').update(buf).digest();
          bytes += buf.length;
        });
        return bytes;
      },
      check: (bytes) => {
        checked['raw readFile+sha256 ×4'] = bytes;
      },
    },
  ].filter(Boolean);

  log(`  ${label}, warm page cache, ${rounds} rounds (after one untimed warm-up pass each)`);
  const times = await alternate({ rounds, impls, warmup: true, log });
  for (const [name, bytes] of Object.entries(checked)) {
    if (bytes !== total) log(`  note: ${name} reported ${bytes} bytes checked, the stores hold ${total}`);
  }
  await closeMote(mote);
  await rmrf(moteDir);
  await rmrf(cacDir);

  const rate = (name) => (times[name]?.length ? mibps(total, median(times[name])) : undefined);
  const m = (name, l) => ({ label: l, value: rate(name) });
  const rows = [
    ratioRow({ id: '7a', measure: label, unit: 'MiB/s', mote: m('motecache verify'), base: m('cacache verify', 'cacache verify (sha512)'), minRatio: 3 }),
    ratioRow({ id: '7b', measure: label, unit: 'MiB/s', mote: m('motecache verify'), base: m('raw readFile+sha256 ×4', 'raw readFile+sha256, 4 in flight') }),
  ];
  return { rows, details: detailLines(times, (ms) => mibps(total, ms), 'MiB/s') };
}
