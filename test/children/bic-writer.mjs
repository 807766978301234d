// Multi-process blob-info cache writer: after the go signal, records `count` locations of a shared digest and of
// its own digest in one SQLite file, in small concurrent bursts (so its transactions interleave with the other
// writer's), each burst also re-recording a shared location; then reads back what it sees.
// argv[2]: JSON { file, index, count, shared, own }
import { SqliteBlobInfoCache, errorInfo, report, waitForGo } from './_common.mjs';

const cfg = JSON.parse(process.argv[2]);
const result = { index: cfg.index, written: 0, errors: [], seenShared: 0 };
try {
  const bic = new SqliteBlobInfoCache(cfg.file);
  process.stdout.write('ready\n');
  await waitForGo();
  for (let i = 0; i < cfg.count; i += 10) {
    const burst = [];
    for (let j = i; j < Math.min(cfg.count, i + 10); j++) {
      burst.push(bic.recordKnownLocation('oci', 'Layer', cfg.shared, `w${cfg.index}/loc${j}`));
      burst.push(bic.recordKnownLocation('oci', 'Layer', cfg.own, `own${j}`));
    }
    burst.push(bic.recordKnownLocation('oci', 'Layer', cfg.shared, 'both'));
    await Promise.all(burst);
    result.written += burst.length;
  }
  await bic.recordDigestUntransformedPair(cfg.own, cfg.shared);
  result.seenShared = (await bic.candidateLocations('oci', 'Layer', cfg.shared, { canSubstitute: false })).length;
  await bic.close();
} catch (err) {
  result.errors.push(errorInfo(err));
}
report(result);
