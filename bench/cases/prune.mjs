// Case 6: prune a store of many tiny motes down to half its bytes; time and extra memory (RSS).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { closeMote, openMote } from '../adapters.mjs';
import { absRow, fmtBytes, fmtNum, infoRow, median, MemorySampler, MiB, pool, randomBuffers, rssNow, settle } from '../util.mjs';

export const title = 'Prune';

export async function run(ctx) {
  const { lib, tmp, log, sizes } = ctx;
  const n = sizes.pruneCount;
  const size = sizes.pruneSize;
  const label = `Prune ${fmtNum(n)} motes of ${size} B to half the bytes`;
  if (!lib) {
    return {
      rows: [
        absRow({ id: '6a', measure: `${label}: time`, maxText: '≤ 5 s' }),
        absRow({ id: '6b', measure: `${label}: extra RSS`, maxText: '< 150 MiB' }),
      ],
      details: ['  - skipped: motecache not built'],
    };
  }
  const rounds = sizes.pruneRounds;
  const runs = [];
  for (let r = 0; r < rounds; r++) {
    const dir = join(tmp, `prune-r${r}`);
    let data = randomBuffers(n, size);
    const cache = await openMote(lib, dir, { durable: false });
    const t0 = performance.now();
    await pool(data, 16, (d) => cache.put(d));
    const populateMs = performance.now() - t0;
    data = undefined;
    const before = await cache.stats();
    const maxSize = Math.floor(before.bytes / 2);
    log(`    round ${r + 1}/${rounds} populated ${fmtNum(before.count)} motes, ${fmtBytes(before.bytes)} on disk, in ${(populateMs / 1000).toFixed(1)} s`);

    const sampler = await MemorySampler.start(5);
    settle();
    const rssBefore = rssNow();
    sampler.mark();
    const p0 = performance.now();
    const res = await cache.prune(maxSize);
    const pruneMs = performance.now() - p0;
    const { peak, kernelPeak, samples } = await sampler.stop();
    settle({ sync: false });
    const rssAfter = rssNow();
    const after = await cache.stats();
    if (res.remainingBytes > maxSize) throw new Error(`prune left ${res.remainingBytes} B > ${maxSize} B`);
    const peakRss = Math.max(peak, kernelPeak ?? 0);
    await closeMote(cache);
    // Reference floor: the same kernel work done bare, unlinkSync of each surviving blob (fs.rmSync of the store).
    settle();
    const u0 = performance.now();
    rmSync(dir, { recursive: true, force: true });
    const unlinkMs = performance.now() - u0;
    const run = { populateMs, pruneMs, rssBefore, rssAfter, peakRss, samples, kernelPeak, res, before, after, unlinkMs };
    runs.push(run);
    log(
      `    round ${r + 1}/${rounds} prune ${pruneMs.toFixed(0)} ms, removed ${fmtNum(res.removed)} (${fmtBytes(res.freedBytes)}), ` +
        `RSS before ${fmtNum(rssBefore / MiB, 1)} MiB, peak ${fmtNum(peakRss / MiB, 1)} MiB (${samples} samples` +
        `${kernelPeak ? `, kernel VmHWM ${fmtNum(kernelPeak / MiB, 1)} MiB` : ''}), after ${fmtNum(rssAfter / MiB, 1)} MiB; ` +
        `raw rmSync of the ${fmtNum(after.count)} survivors ${unlinkMs.toFixed(0)} ms`,
    );
  }
  const pruneMs = median(runs.map((x) => x.pruneMs));
  const extra = Math.max(...runs.map((x) => x.peakRss - x.rssBefore));
  const perUnlinkUs = median(runs.map((x) => (x.unlinkMs * 1000) / Math.max(1, x.after.count)));
  const perRemovalUs = median(runs.map((x) => (x.pruneMs * 1000) / Math.max(1, x.res.removed)));
  const rows = [
    absRow({ id: '6a', measure: `${label}: time`, value: pruneMs / 1000, text: `${(pruneMs / 1000).toFixed(2)} s`, max: 5, maxText: '≤ 5 s' }),
    absRow({ id: '6b', measure: `${label}: extra RSS (peak − before)`, value: extra / MiB, text: `${fmtNum(extra / MiB, 1)} MiB`, max: 150, maxText: '< 150 MiB', strict: true }),
    infoRow({
      id: '6c',
      measure: `Prune: populate ${fmtNum(n)} × ${size} B (durable:false, 16 in flight)`,
      mote: `${fmtNum(n / (median(runs.map((x) => x.populateMs)) / 1000))} puts/s`,
    }),
    infoRow({
      id: '6d',
      measure: 'Prune: time per removed mote vs bare unlinkSync (fs.rmSync of the survivors)',
      mote: `${fmtNum(perRemovalUs)} µs/mote`,
      base: `raw unlinkSync: ${fmtNum(perUnlinkUs)} µs/file`,
      ratio: `${fmtNum(perUnlinkUs / perRemovalUs, 2)}×`,
    }),
  ];
  const details = runs.map(
    (x, i) =>
      `  - round ${i + 1}: populate ${(x.populateMs / 1000).toFixed(1)} s; store ${fmtNum(x.before.count)} motes / ${fmtBytes(x.before.bytes)} → ` +
      `${fmtNum(x.after.count)} / ${fmtBytes(x.after.bytes)}; prune ${x.pruneMs.toFixed(0)} ms, removed ${fmtNum(x.res.removed)}, ` +
      `freed ${fmtBytes(x.res.freedBytes)}; RSS before ${fmtNum(x.rssBefore / MiB, 1)} MiB, peak ${fmtNum(x.peakRss / MiB, 1)} MiB ` +
      `(sampler every 5 ms: ${x.samples} samples${x.kernelPeak ? `; kernel VmHWM after reset ${fmtNum(x.kernelPeak / MiB, 1)} MiB` : ''}), after ${fmtNum(x.rssAfter / MiB, 1)} MiB; ` +
      `raw fs.rmSync of the ${fmtNum(x.after.count)} survivors ${x.unlinkMs.toFixed(0)} ms`,
  );
  return { rows, details };
}
