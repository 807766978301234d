// Case: `mote copy` registry -> registry against real registries (two Debian docker-registry on loopback), side by
// side with `skopeo copy docker:// docker://`, on a 4-layer gzip image (default 4 x 50 MiB of random bytes; sizes
// copyLayers / copyLayerMiB, smaller with --quick):
//   C1 cold `mote copy` (empty cache) vs `skopeo copy`, alternating rounds: target <= 1.1x skopeo's time;
//   C2 gzip -> zstd recompressing `mote copy --dest-compress zstd` (empty cache) vs
//      `skopeo copy --dest-compress-format zstd`: target <= 1.0x;
//   C3 the same recompressing copy again to another repository, variants cached: target >= 5x faster than C2;
//   C4 peak RSS of every `mote copy` above: target <= 150 MiB.
// Every copy goes to a fresh destination repository, so no tool finds its blobs there (no HEAD skips, no mounts
// for mote: the destination registry is not the one the cache saw the blobs in).
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry } from '../registry.mjs';
import { absRow, fmtBytes, fmtNum, median, MiB, which } from '../util.mjs';
import { exec, execPeak, pushImage } from './pull.mjs';

export const title = '`mote copy` registry -> registry vs `skopeo copy` (two real registries on loopback)';
const cli = fileURLToPath(new URL('../../dist/bin/mote.js', import.meta.url));

function skipped(why) {
  return {
    rows: [
      absRow({ id: 'C1', measure: `cold \`mote copy\` vs \`skopeo copy\`: ${why}`, maxText: '≤ 1.1× skopeo' }),
      absRow({ id: 'C2', measure: `gzip -> zstd \`mote copy\` vs skopeo: ${why}`, maxText: '≤ 1.0× skopeo' }),
      absRow({ id: 'C3', measure: `recompressing copy again, variants cached: ${why}`, maxText: '≥ 5× faster than C2' }),
      absRow({ id: 'C4', measure: `\`mote copy\` peak RSS: ${why}`, maxText: '≤ 150 MiB' }),
    ],
    details: [`  - skipped: ${why}`],
  };
}

export async function run({ lib, tmp, rounds, log, sizes: all }) {
  const layers = all.copyLayers ?? 4;
  const layerMiB = all.copyLayerMiB ?? 50;
  if (!lib) return skipped('motecache not built');
  for (const tool of ['docker-registry', 'skopeo']) if (!which(tool)) return skipped(`${tool} not installed (apt-get install ${tool})`);
  const dir = join(tmp, 'copy');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'dst'), { recursive: true });
  const [src, dst] = await Promise.all([startRegistry(join(dir, 'src')), startRegistry(join(dir, 'dst'))]);
  try {
    const image = await pushImage(dir, src.host, 'image', { layers, layerBytes: layerMiB * MiB }, log);
    const from = `docker://${src.host}/bench/image:v1`;
    const to = (repo) => `docker://${dst.host}/bench/${repo}:v1`;
    // skopeo's blob-info cache (root: /var/lib/containers/cache, shared with anything else on the machine) would let
    // a run reuse blobs an earlier run pushed, even a gzip blob where zstd was asked (containers/image 5.23). Each
    // skopeo run gets a cache of its own: as an unprivileged user (setpriv) with a fresh XDG_DATA_HOME.
    let runs = 0;
    const skopeo = (repo, extra = []) => {
      const args = ['copy', '--quiet', '--insecure-policy', '--src-tls-verify=false', '--dest-tls-verify=false', ...extra, from, to(repo)];
      if (process.getuid?.() !== 0 || !which('setpriv')) return exec('skopeo', args);
      const home = join(dir, `skopeo-home-${++runs}`);
      mkdirSync(home, { recursive: true, mode: 0o777 });
      chmodSync(home, 0o777);
      return exec('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'env', `HOME=${home}`, `XDG_DATA_HOME=${home}`, 'skopeo', ...args]);
    };
    const mote = (repo, cache, extra = []) => execPeak(process.execPath, [cli, '--cache', cache, '--json', 'copy', from, to(repo), ...extra], join(dir, `t-${repo}`));
    const n = Math.max(1, Math.min(rounds, 3));
    const t = { skopeo: [], mote: [], skopeoZ: [], moteZ: [], again: [] };
    const peaks = [];
    let compressedAgain = [];
    for (let r = 0; r < n; r++) {
      const cache = join(dir, `cache-${r}`);
      const zcache = join(dir, `zcache-${r}`);
      const steps = r % 2 === 0 ? ['skopeo', 'mote'] : ['mote', 'skopeo'];
      for (const step of steps) {
        if (step === 'skopeo') {
          t.skopeo.push((await skopeo(`s${r}`)).ms);
          t.skopeoZ.push((await skopeo(`sz${r}`, ['--dest-compress-format', 'zstd'])).ms);
        } else {
          const plain = await mote(`m${r}`, cache);
          t.mote.push(plain.ms);
          const z = await mote(`mz${r}`, zcache, ['--dest-compress', 'zstd']);
          t.moteZ.push(z.ms);
          const again = await mote(`mz${r}b`, zcache, ['--dest-compress', 'zstd']);
          t.again.push(again.ms);
          const j = JSON.parse(again.out);
          compressedAgain.push(j.layersTransformed);
          log(`    again: ${again.ms.toFixed(0)} ms, transformed ${j.layersTransformed}, substituted ${j.layersSubstituted}, mounted ${j.blobsMounted}, uploaded ${j.blobsUploaded}, existing ${j.blobsExisting}, from registry ${j.bytesFromRegistry}`);
          peaks.push(plain.peak, z.peak, again.peak);
        }
      }
      rmSync(cache, { recursive: true, force: true });
      rmSync(zcache, { recursive: true, force: true });
    }
    const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
    const peak = Math.max(...peaks);
    const label = `${layers} × ${layerMiB} MiB gzip image (${fmtNum(image.totalBytes / MiB, 1)} MiB)`;
    const s = (ms) => `${fmtNum(ms / 1000, 2)} s`;
    const rows = [
      absRow({ id: 'C1', measure: `cold \`mote copy\` docker:// -> docker:// of a ${label} vs \`skopeo copy\` (${s(m.skopeo)})`, value: m.mote / m.skopeo, text: `${s(m.mote)} (${fmtNum(m.mote / m.skopeo, 2)}×)`, max: 1.1, maxText: '≤ 1.1× skopeo' }),
      absRow({ id: 'C2', measure: `gzip -> zstd \`mote copy --dest-compress zstd\` vs \`skopeo copy --dest-compress-format zstd\` (${s(m.skopeoZ)})`, value: m.moteZ / m.skopeoZ, text: `${s(m.moteZ)} (${fmtNum(m.moteZ / m.skopeoZ, 2)}×)`, max: 1.0, maxText: '≤ 1.0× skopeo' }),
      absRow({ id: 'C3', measure: 'the same recompressing copy again (variants cached), vs C2', value: m.again > 0 ? m.moteZ / m.again : undefined, text: `${s(m.again)} (${fmtNum(m.moteZ / m.again, 1)}× faster; layers compressed: ${compressedAgain.join(', ')})`, max: Infinity, maxText: '≥ 5× faster than C2' }),
      absRow({ id: 'C4', measure: '`mote copy` peak RSS (every run above)', value: peak, text: fmtBytes(peak), max: 150 * MiB, maxText: '≤ 150 MiB' }),
    ];
    // C3's target is a minimum: absRow checks a maximum, so its result is set here.
    rows[2].result = m.moteZ / m.again >= 5 && compressedAgain.every((x) => x === 0) ? 'PASS' : 'MISS';
    const details = [
      `  - ${n} round(s), order alternating; medians. skopeo ${t.skopeo.map(s).join(', ')}; mote ${t.mote.map(s).join(', ')}; skopeo zstd ${t.skopeoZ.map(s).join(', ')}; mote zstd ${t.moteZ.map(s).join(', ')}; again ${t.again.map(s).join(', ')}; peaks ${peaks.map(fmtBytes).join(', ')}`,
    ];
    return { rows, details };
  } finally {
    await Promise.all([src.stop(), dst.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
