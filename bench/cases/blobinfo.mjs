// Case: the SQLite blob-info cache: 100,000 recordKnownLocation calls (coalesced into transactions), and
// candidateLocations latency (p99) over a 100,000-row database.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { absRow, fmtNum, infoRow, median, opsps, settle } from '../util.mjs';

export const title = 'Blob-info cache (SQLite)';

const N = 100_000;
const QUERIES = 20_000;
const hex = (i, salt) => (salt + i.toString(16)).padStart(64, '0').slice(-64);
const digest = (i, salt = 'a') => `sha256:${hex(i, salt)}`;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function run(ctx) {
  const { lib, tmp, log, rounds } = ctx;
  const writeLabel = `${fmtNum(N)} recordKnownLocation calls (bursts of 1,000, one transaction each)`;
  const queryLabel = `candidateLocations over a ${fmtNum(N)}-row DB`;
  if (!lib?.SqliteBlobInfoCache) {
    return {
      rows: [
        absRow({ id: 'B1a', measure: writeLabel, maxText: '≤ 2 s' }),
        absRow({ id: 'B1c', measure: `${queryLabel}: p99 (canSubstitute)`, maxText: '≤ 1 ms' }),
      ],
      details: ['  - skipped: motecache (with the blob-info cache) not built'],
    };
  }
  // 25,000 layer digests x 4 locations; every 3 digests are variants of one untransformed digest.
  const entries = [];
  for (let i = 0; i < N; i++) {
    const d = i % (N / 4);
    entries.push({ transport: 'oci', scope: 'Layer', digest: digest(d), location: `registry${i % 7}.example/repo/${d}:v${i % 4}` });
  }

  const writeMs = [];
  const batchMs = [];
  const awaitedMs = [];
  const AWAITED = 10_000;
  let file;
  for (let r = 0; r < rounds; r++) {
    // (a) individual calls, issued in bursts: the backend coalesces each burst into one transaction.
    file = join(tmp, `blobinfo-r${r}.db`);
    let bic = new lib.SqliteBlobInfoCache(file);
    settle();
    let t0 = performance.now();
    for (let i = 0; i < N; i += 1000) {
      const burst = [];
      for (let j = i; j < i + 1000; j++) {
        const e = entries[j];
        burst.push(bic.recordKnownLocation(e.transport, e.scope, e.digest, e.location));
      }
      await Promise.all(burst);
    }
    writeMs.push(performance.now() - t0);
    await bic.close();
    if (r < rounds - 1) rmSync(file, { force: true }), rmSync(`${file}-wal`, { force: true }), rmSync(`${file}-shm`, { force: true });

    // (b) the explicit batch API, 1,000 per call.
    const bfile = join(tmp, `blobinfo-batch-r${r}.db`);
    bic = new lib.SqliteBlobInfoCache(bfile);
    settle();
    t0 = performance.now();
    for (let i = 0; i < N; i += 1000) await bic.recordKnownLocations(entries.slice(i, i + 1000));
    batchMs.push(performance.now() - t0);
    await bic.close();

    // (c) one awaited call at a time (a transaction each): the slow path, for reference.
    bic = new lib.SqliteBlobInfoCache(bfile);
    settle();
    t0 = performance.now();
    for (let i = 0; i < AWAITED; i++) {
      const e = entries[i];
      await bic.recordKnownLocation('other', e.scope, e.digest, e.location);
    }
    awaitedMs.push(performance.now() - t0);
    await bic.close();
    for (const s of ['', '-wal', '-shm']) rmSync(bfile + s, { force: true });
    log(`    round ${r + 1}/${rounds}: calls ${writeMs[r].toFixed(0)} ms, batch ${batchMs[r].toFixed(0)} ms, ${fmtNum(AWAITED)} awaited ${awaitedMs[r].toFixed(0)} ms`);
  }

  // Queries over the last round's database (100,000 rows), with variants recorded.
  const bic = new lib.SqliteBlobInfoCache(file);
  const pairs = [];
  for (let d = 0; d < N / 4; d += 3) for (const k of [0, 1, 2]) if (d + k < N / 4) pairs.push([digest(d + k), digest(d)]);
  await Promise.all(pairs.map(([a, u]) => bic.recordDigestUntransformedPair(a, u)));
  const lat = { sub: [], exact: [] };
  let found = 0;
  for (const [kind, canSubstitute] of [['exact', false], ['sub', true]]) {
    for (let q = 0; q < 2000; q++) await bic.candidateLocations('oci', 'Layer', digest((q * 7919) % (N / 4)), { canSubstitute }); // warm-up
    settle({ sync: false });
    for (let q = 0; q < QUERIES; q++) {
      const d = digest((q * 104729) % (N / 4));
      const t = performance.now();
      const cs = await bic.candidateLocations('oci', 'Layer', d, { canSubstitute });
      lat[kind].push(performance.now() - t);
      found += cs.length;
    }
  }
  await bic.close();
  if (found === 0) throw new Error('queries found nothing');
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] };
  };
  const sub = stats(lat.sub);
  const exact = stats(lat.exact);
  const w = median(writeMs);
  const fmtMs = (ms) => `${fmtNum(ms, 3)} ms`;
  const rows = [
    absRow({ id: 'B1a', measure: writeLabel, value: w, text: `${fmtNum(w / 1000, 2)} s (${fmtNum(opsps(N, w))} calls/s)`, max: 2000, maxText: '≤ 2 s' }),
    infoRow({ id: 'B1b', measure: `${fmtNum(N)} locations via recordKnownLocations (1,000 per call)`, mote: `${fmtNum(median(batchMs) / 1000, 2)} s` }),
    infoRow({
      id: 'B1b2',
      measure: `${fmtNum(AWAITED)} recordKnownLocation calls awaited one by one (a commit each)`,
      mote: `${fmtNum(median(awaitedMs) / 1000, 2)} s (${fmtNum(opsps(AWAITED, median(awaitedMs)))} calls/s)`,
    }),
    absRow({ id: 'B1c', measure: `${queryLabel}: p99 (canSubstitute, 3 variants)`, value: sub.p99, text: `${fmtMs(sub.p99)} (p50 ${fmtMs(sub.p50)})`, max: 1, maxText: '≤ 1 ms' }),
    infoRow({ id: 'B1d', measure: `${queryLabel}: p99 (exact digest)`, mote: `${fmtMs(exact.p99)} (p50 ${fmtMs(exact.p50)})` }),
  ];
  const details = [
    `  - recordKnownLocation x ${fmtNum(N)} per round (ms): ${writeMs.map((x) => x.toFixed(0)).join(', ')}`,
    `  - recordKnownLocations x ${fmtNum(N)} per round (ms): ${batchMs.map((x) => x.toFixed(0)).join(', ')}`,
    `  - candidateLocations, ${fmtNum(QUERIES)} queries each: canSubstitute p50 ${fmtMs(sub.p50)} p99 ${fmtMs(sub.p99)} max ${fmtMs(sub.max)}; exact p50 ${fmtMs(exact.p50)} p99 ${fmtMs(exact.p99)} max ${fmtMs(exact.max)}`,
  ];
  return { rows, details };
}
