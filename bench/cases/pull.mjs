// Case: `mote pull` against a real registry (Debian's docker-registry on loopback), side by side with
// `skopeo copy docker://… oci:…`:
//   P1a cold pull (empty cache) of a ~200 MiB image vs skopeo copy, alternating rounds: target mote ≤ 1.1× skopeo's time;
//   P1b warm `mote pull` CLI process (everything cached) vs the cold CLI pull: target warm ≤ 0.2 s and ≥ 6× faster;
//   P1c 4 concurrent `mote pull` processes on one empty cache: bytes served by the registry = 1× the image;
//   P1d (info) the warm/cold pair as `pull()` library calls in this process (no process start);
//   P2  `mote --version` wall time, alternating with `node -e 0`: target ≤ 0.08 s;
//   P3  (info) wall time of the 4 concurrent cold pulls (P1c) vs one cold pull;
//   P4  (info) peak RSS and wall time of a cold pull of a ~1 GiB image (4 × 256 MiB layers), and skopeo's;
//   P5  (info) cold pull of an image of 50 small (64 KiB) layers vs skopeo copy.
// Both tools run as processes (each pays its start-up). Bytes served are read from the registry's own access log.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as zlibConstants, createGzip } from 'node:zlib';
import { startRegistry } from '../registry.mjs';
import { absRow, checkRow, fmtBytes, fmtNum, infoRow, KiB, median, MiB, pool, which } from '../util.mjs';

export const title = '`mote pull` vs `skopeo copy` (real registry on loopback)';

const LAYERS = 4;
const LAYER_MiB = 50;
const CONCURRENT = 4;
const VERSION_RUNS = 11;
const cli = fileURLToPath(new URL('../../dist/bin/mote.js', import.meta.url));

/**
 * Successful blob GETs the registry logged (combined log format): `[{ line, digest, ranged }]`. The log's byte
 * count includes header bytes, so callers weigh each GET by the blob's real size instead.
 */
function blobGets(logPath) {
  const gets = [];
  for (const line of readFileSync(logPath, 'utf8').split('\n')) {
    const m = /"GET \/v2\/\S+\/blobs\/(\S+) HTTP\/[\d.]+" (200|206) /.exec(line);
    if (m) gets.push({ line, digest: m[1], ranged: m[2] === '206' });
  }
  return gets;
}

// ---- the images: tar+gzip layers of random bytes (one file each), an OCI layout ----

function tarHeader(name, size) {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

function writeBlob(layout, bytesList) {
  const hash = createHash('sha256');
  for (const b of bytesList) hash.update(b);
  const hex = hash.digest('hex');
  const fd = openSync(join(layout, 'blobs', 'sha256', hex), 'w');
  let size = 0;
  for (const b of bytesList) {
    writeSync(fd, b);
    size += b.length;
  }
  closeSync(fd);
  return { digest: `sha256:${hex}`, size };
}

/** gzip of the concatenated parts, like real layers (Huffman-only level 1: still ordinary gzip, fast to make from random bytes); runs on the thread pool. */
async function gzipParts(parts) {
  const gz = createGzip({ level: 1, strategy: zlibConstants.Z_HUFFMAN_ONLY, chunkSize: MiB });
  const out = [];
  gz.on('data', (c) => out.push(c));
  const done = new Promise((resolve, reject) => {
    gz.once('end', resolve);
    gz.once('error', reject);
  });
  for (const p of parts) gz.write(p);
  gz.end();
  await done;
  return out;
}

/** An OCI layout (tag v1) of `layers` layers of `layerBytes` random bytes each; two layers are made at once. */
async function makeImage(layout, { layers: count, layerBytes }) {
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const layers = new Array(count);
  const diffIds = new Array(count);
  await pool(
    Array.from({ length: count }, (_, i) => i),
    2,
    async (i) => {
      const tar = [tarHeader(`layer${i}.bin`, layerBytes), randomBytes(layerBytes), Buffer.alloc(512 * 2 + ((512 - (layerBytes % 512)) % 512))];
      diffIds[i] = `sha256:${tar.reduce((h, b) => h.update(b), createHash('sha256')).digest('hex')}`;
      layers[i] = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...writeBlob(layout, await gzipParts(tar)) };
    },
  );
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: diffIds },
      config: {},
    }),
  );
  const configDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', ...writeBlob(layout, [config]) };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers }));
  const manifestDesc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...writeBlob(layout, [manifest]) };
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifestDesc, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }),
  );
  const blobBytes = layers.reduce((s, l) => s + l.size, 0) + configDesc.size;
  const sizes = new Map([...layers, configDesc].map((d) => [d.digest, d.size]));
  return { layers: count, layerBytes, blobBytes, sizes, totalBytes: blobBytes + manifestDesc.size };
}

/** Makes an image and pushes it to `host` as bench/<repo>:v1; the layout is removed afterwards. */
export async function pushImage(dir, host, repo, spec, log) {
  const layout = join(dir, `layout-${repo}`);
  const t0 = performance.now();
  const image = await makeImage(layout, spec);
  // --preserve-digests: never recompress on the way in (the digests pulled are the ones made here).
  await exec('skopeo', ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${host}/bench/${repo}:v1`]);
  log(`  image bench/${repo}: ${image.layers} × ${fmtBytes(image.layerBytes)} layers, ${fmtNum(image.totalBytes / MiB, 1)} MiB, made and pushed in ${fmtNum(performance.now() - t0)} ms`);
  rmSync(layout, { recursive: true, force: true });
  return image;
}

// ---- running the tools ----

export function exec(cmd, args) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      else resolve({ ms, out });
    });
  });
}

const GNU_TIME = '/usr/bin/time';

/**
 * `exec` plus the process's peak RSS in bytes: GNU time's %M (the child's ru_maxrss) where /usr/bin/time is GNU
 * time, else the last VmHWM read from /proc/<pid>/status every 5 ms (which can miss a peak in the last 5 ms).
 */
export async function execPeak(cmd, args, scratch) {
  if (spawnSync(GNU_TIME, ['-f', '%M', '-o', '/dev/null', 'true']).status === 0) {
    const file = `${scratch}.time`;
    const res = await exec(GNU_TIME, ['-f', '%M', '-o', file, cmd, ...args]);
    const kib = Number(readFileSync(file, 'utf8').trim().split('\n').pop());
    rmSync(file, { force: true });
    return { ...res, peak: kib * 1024, how: 'GNU time %M' };
  }
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let peak = 0;
    const poll = () => {
      try {
        const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      } catch {
        // gone already
      }
    };
    const timer = setInterval(poll, 5);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('error', (e) => (clearInterval(timer), reject(e)));
    child.once('exit', (code) => {
      clearInterval(timer);
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      else resolve({ ms, out, peak, how: '/proc/<pid>/status VmHWM every 5 ms' });
    });
  });
}

const skopeoArgs = (host, repo, dest) => ['copy', '--quiet', '--src-tls-verify=false', `docker://${host}/bench/${repo}:v1`, `oci:${dest}:v1`];
const pullArgs = (host, repo, dest, cache) => [cli, 'pull', `${host}/bench/${repo}:v1`, '--to', `oci:${dest}:v1`, '--cache', cache, '--json'];
const skopeoCopy = (host, dest, repo = 'image') => exec('skopeo', skopeoArgs(host, repo, dest));
const motePull = (host, dest, cache, repo = 'image') => exec(process.execPath, pullArgs(host, repo, dest, cache));

/** The registry's blob GETs once its access log has stopped growing (lines land as responses complete). */
async function settledGets(logPath) {
  let gets = blobGets(logPath);
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const again = blobGets(logPath);
    if (again.length === gets.length) return again;
    gets = again;
  }
  return gets;
}

const bigLabel = (layers, layerMiB) => `${fmtNum(layers * layerMiB)} MiB image (${layers} × ${layerMiB} MiB layers)`;

function skipped(why, sizes) {
  const measure = `${LAYERS} × ${LAYER_MiB} MiB image`;
  return {
    rows: [
      absRow({ id: 'P1a', measure: `cold \`mote pull\` of a ${measure} vs \`skopeo copy\`: ${why}`, maxText: '≤ 1.1× skopeo' }),
      absRow({ id: 'P1b', measure: `warm \`mote pull\` CLI vs cold CLI pull: ${why}`, maxText: '≤ 0.2 s and ≥ 6× faster' }),
      absRow({ id: 'P1c', measure: `${CONCURRENT} concurrent pulls, bytes from the registry: ${why}`, maxText: '= 1× image' }),
      infoRow({ id: 'P1d', measure: `warm vs cold \`pull()\` in one process: ${why}`, mote: 'n/a' }),
      absRow({ id: 'P2', measure: `\`mote --version\` wall time: ${why}`, maxText: '≤ 0.08 s' }),
      infoRow({ id: 'P3', measure: `${CONCURRENT} concurrent cold pulls vs one, wall time: ${why}`, mote: 'n/a' }),
      infoRow({ id: 'P4', measure: `cold \`mote pull\` of a ${bigLabel(sizes.bigLayers, sizes.bigLayerMiB)}: peak RSS: ${why}`, mote: 'n/a' }),
      infoRow({ id: 'P5', measure: `cold \`mote pull\` of ${sizes.manyLayers} × ${sizes.manyLayerKiB} KiB layers vs \`skopeo copy\`: ${why}`, mote: 'n/a' }),
    ],
    details: [`  - skipped: ${why}`],
  };
}

const rotate = (list, r) => [...list.slice(r % list.length), ...list.slice(0, r % list.length)];

export async function run({ lib, tmp, rounds, log, sizes: all }) {
  const sizes = {
    bigLayers: all.pullBigLayers ?? 4,
    bigLayerMiB: all.pullBigLayerMiB ?? 256,
    bigRounds: all.pullBigRounds ?? 1,
    manyLayers: all.pullManyLayers ?? 50,
    manyLayerKiB: all.pullManyLayerKiB ?? 64,
  };
  if (!lib || typeof lib.pull !== 'function') return skipped('motecache not built', sizes);
  for (const tool of ['docker-registry', 'skopeo']) {
    if (!which(tool)) return skipped(`${tool} not installed (apt-get install ${tool})`, sizes);
  }
  const dir = join(tmp, 'pull');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const registry = await startRegistry(dir);
  try {
    const image = await pushImage(dir, registry.host, 'image', { layers: LAYERS, layerBytes: LAYER_MiB * MiB }, log);
    const many = await pushImage(dir, registry.host, 'many', { layers: sizes.manyLayers, layerBytes: sizes.manyLayerKiB * KiB }, log);

    // ---- P1, P3: the 200 MiB image. Each round: skopeo, a cold pull and CONCURRENT concurrent cold pulls in
    // rotating order (each on its own empty cache), then a warm pull on the cold pull's cache, then the same
    // cold/warm pair as library calls.
    const n = Math.max(3, Math.min(rounds, 5));
    const times = { skopeo: [], cold: [], warm: [], concurrent: [], libCold: [], libWarm: [] };
    const servedRatios = [];
    const servedNotes = [];
    const ref = `${registry.host}/bench/image:v1`;
    const libPull = async (dest, cache) => {
      const t0 = performance.now();
      const result = await lib.pull(ref, `oci:${dest}:v1`, { cache });
      return { ms: performance.now() - t0, result };
    };
    for (let r = 0; r < n; r++) {
      const out = (name) => join(dir, `${name}-${r}`);
      const cache = join(dir, `cache-${r}`);
      const concCache = join(dir, `cache-concurrent-${r}`);
      let note = '';
      for (const step of rotate(['skopeo', 'cold', 'concurrent'], r)) {
        if (step === 'skopeo') times.skopeo.push((await skopeoCopy(registry.host, out('skopeo'))).ms);
        else if (step === 'cold') times.cold.push((await motePull(registry.host, out('cold'), cache)).ms);
        else {
          // CONCURRENT processes on one empty cache; the registry's log says what it served (P1c).
          const before = (await settledGets(registry.logPath)).length;
          const t0 = performance.now();
          const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => motePull(registry.host, out(`conc${i}`), concCache)));
          times.concurrent.push(performance.now() - t0);
          const gets = (await settledGets(registry.logPath)).slice(before);
          // A ranged GET (a resume) is weighed as a whole blob: an upper bound, and there should be none.
          const served = gets.reduce((sum, g) => sum + (image.sizes.get(g.digest) ?? NaN), 0);
          if (served !== image.blobBytes) log(gets.map((g) => `      ${g.line}`).join('\n'));
          const reported = results.reduce((sum, res) => sum + JSON.parse(res.out).bytesFromRegistry, 0);
          servedRatios.push(served / image.blobBytes);
          note = `${gets.length} blob GETs (${gets.filter((g) => g.ranged).length} ranged) for ${image.sizes.size} blobs, ${served} bytes, pulls reported ${reported}`;
          servedNotes.push({ served, reported });
        }
      }
      const warm = await motePull(registry.host, out('warm'), cache);
      const summary = JSON.parse(warm.out);
      if (summary.bytesFromRegistry !== 0) throw new Error(`warm pull fetched ${summary.bytesFromRegistry} bytes from the registry`);
      times.warm.push(warm.ms);
      // The same pair as library calls: a fresh cache, then the same cache again.
      const libCache = join(dir, `lib-cache-${r}`);
      times.libCold.push((await libPull(out('lib-cold'), libCache)).ms);
      const libWarm = await libPull(out('lib-warm'), libCache);
      if (libWarm.result.bytesFromRegistry !== 0) throw new Error(`warm pull() fetched ${libWarm.result.bytesFromRegistry} bytes from the registry`);
      times.libWarm.push(libWarm.ms);
      log(
        `    round ${r + 1}/${n}: skopeo ${fmtNum(times.skopeo[r])} ms, mote cold ${fmtNum(times.cold[r])} ms, mote warm ${fmtNum(times.warm[r])} ms,` +
          ` ${CONCURRENT} concurrent cold ${fmtNum(times.concurrent[r])} ms; pull() cold ${fmtNum(times.libCold[r])} ms, warm ${fmtNum(times.libWarm[r])} ms`,
      );
      log(`      ${CONCURRENT} concurrent pulls: ${note}`);
      for (const d of [out('skopeo'), out('cold'), out('warm'), out('lib-cold'), out('lib-warm'), cache, libCache, concCache]) rmSync(d, { recursive: true, force: true });
      for (let i = 0; i < CONCURRENT; i++) rmSync(out(`conc${i}`), { recursive: true, force: true });
    }

    // ---- P2: `mote --version` against `node -e 0`, alternating (one untimed run of each first).
    const pkgVersion = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;
    const version = { mote: [], node: [] };
    const runVersion = async (which, timed) => {
      const res = which === 'mote' ? await exec(process.execPath, [cli, '--version']) : await exec(process.execPath, ['-e', '0']);
      if (which === 'mote' && res.out.trim() !== pkgVersion) throw new Error(`mote --version printed ${JSON.stringify(res.out)}, expected ${pkgVersion}`);
      if (timed) version[which].push(res.ms);
    };
    await runVersion('mote', false);
    await runVersion('node', false);
    for (let i = 0; i < VERSION_RUNS; i++) for (const which of i % 2 ? ['node', 'mote'] : ['mote', 'node']) await runVersion(which, true);
    log(`    \`mote --version\` ${version.mote.map((m) => fmtNum(m)).join(', ')} ms; \`node -e 0\` ${version.node.map((m) => fmtNum(m)).join(', ')} ms`);

    // ---- P5: many small layers, cold pull vs skopeo, alternating which goes first.
    const manyTimes = { skopeo: [], cold: [] };
    for (let r = 0; r < n; r++) {
      const out = (name) => join(dir, `many-${name}-${r}`);
      const cache = join(dir, `many-cache-${r}`);
      for (const which of r % 2 === 0 ? ['skopeo', 'cold'] : ['cold', 'skopeo']) {
        const res = which === 'skopeo' ? await skopeoCopy(registry.host, out('skopeo'), 'many') : await motePull(registry.host, out('cold'), cache, 'many');
        manyTimes[which].push(res.ms);
      }
      log(`    ${sizes.manyLayers} × ${sizes.manyLayerKiB} KiB layers, round ${r + 1}/${n}: skopeo ${fmtNum(manyTimes.skopeo[r])} ms, mote cold ${fmtNum(manyTimes.cold[r])} ms`);
      for (const d of [out('skopeo'), out('cold'), cache]) rmSync(d, { recursive: true, force: true });
    }

    // ---- P4: a big image, cold pull under GNU time (peak RSS), and skopeo the same way; fewer rounds.
    const big = await pushImage(dir, registry.host, 'big', { layers: sizes.bigLayers, layerBytes: sizes.bigLayerMiB * MiB }, log);
    const bigRuns = { mote: [], skopeo: [] };
    let peakHow = '';
    for (let r = 0; r < sizes.bigRounds; r++) {
      const out = (name) => join(dir, `big-${name}-${r}`);
      const cache = join(dir, `big-cache-${r}`);
      for (const which of r % 2 === 0 ? ['cold', 'skopeo'] : ['skopeo', 'cold']) {
        if (which === 'cold') {
          const res = await execPeak(process.execPath, pullArgs(registry.host, 'big', out('cold'), cache), out('cold'));
          const got = JSON.parse(res.out).bytesFromRegistry;
          if (got < big.blobBytes) throw new Error(`cold pull of the big image fetched ${got} bytes, expected ${big.blobBytes}`);
          bigRuns.mote.push(res);
          peakHow = res.how;
        } else bigRuns.skopeo.push(await execPeak('skopeo', skopeoArgs(registry.host, 'big', out('skopeo')), out('skopeo')));
      }
      log(
        `    ${bigLabel(sizes.bigLayers, sizes.bigLayerMiB)}, round ${r + 1}/${sizes.bigRounds}: mote cold ${fmtNum(bigRuns.mote[r].ms)} ms, peak RSS ${fmtNum(bigRuns.mote[r].peak / MiB, 1)} MiB;` +
          ` skopeo ${fmtNum(bigRuns.skopeo[r].ms)} ms, peak RSS ${fmtNum(bigRuns.skopeo[r].peak / MiB, 1)} MiB`,
      );
      for (const d of [out('skopeo'), out('cold'), cache]) rmSync(d, { recursive: true, force: true });
    }

    const s = (list) => median(list) / 1000;
    const t = (name) => s(times[name]);
    const ratioCold = t('cold') / t('skopeo');
    const cliSpeedup = t('cold') / t('warm');
    const libSpeedup = t('libCold') / t('libWarm');
    const worstServed = Math.max(...servedRatios);
    const worst = servedNotes[servedRatios.indexOf(worstServed)];
    const concRatio = t('concurrent') / t('cold');
    const vMote = s(version.mote);
    const vNode = s(version.node);
    const bigMote = { s: s(bigRuns.mote.map((x) => x.ms)), peak: median(bigRuns.mote.map((x) => x.peak)) };
    const bigSkopeo = { s: s(bigRuns.skopeo.map((x) => x.ms)), peak: median(bigRuns.skopeo.map((x) => x.peak)) };
    const manyRatio = s(manyTimes.cold) / s(manyTimes.skopeo);
    const rows = [
      absRow({
        id: 'P1a',
        measure: `cold \`mote pull\` (empty cache) of a ${fmtNum(image.totalBytes / MiB)} MiB image (${LAYERS} layers) vs \`skopeo copy docker:// oci:\`, time ratio`,
        value: ratioCold,
        text: `${t('cold').toFixed(2)} s vs ${t('skopeo').toFixed(2)} s = ${ratioCold.toFixed(2)}×`,
        max: 1.1,
        maxText: '≤ 1.1× skopeo',
      }),
      checkRow({
        id: 'P1b',
        measure: 'warm `mote pull` CLI process (everything cached) vs cold CLI pull (empty cache): warm wall time, speed-up',
        mote: `${t('warm').toFixed(3)} s vs ${t('cold').toFixed(2)} s: ${cliSpeedup.toFixed(1)}× faster`,
        target: '≤ 0.2 s and ≥ 6× faster',
        ok: t('warm') <= 0.2 && cliSpeedup >= 6,
      }),
      absRow({
        id: 'P1c',
        measure: `${CONCURRENT} concurrent \`mote pull\` processes on one empty cache: blob bytes the registry served (GETs in its access log × blob size) / image blob bytes, worst of ${n} rounds`,
        value: worstServed,
        text: `${fmtNum(worst.served / MiB, 1)} MiB / ${fmtNum(image.blobBytes / MiB, 1)} MiB = ${worstServed.toFixed(2)}× (pulls reported ${fmtNum(worst.reported / MiB, 1)} MiB)`,
        max: 1.0,
        maxText: '= 1×',
      }),
      infoRow({
        id: 'P1d',
        measure: 'warm vs cold pull as `pull()` library calls in this process (no process start), speed-up',
        mote: `${t('libWarm').toFixed(3)} s vs ${t('libCold').toFixed(2)} s: ${libSpeedup.toFixed(1)}× faster`,
      }),
      checkRow({
        id: 'P2',
        measure: `\`mote --version\` wall time (process spawn to exit, median of ${VERSION_RUNS}, alternating with \`node -e 0\`)`,
        mote: `${vMote.toFixed(3)} s`,
        base: `node -e 0: ${vNode.toFixed(3)} s`,
        ratio: `${fmtNum(vMote / vNode, 2)}× time`,
        target: '≤ 0.08 s',
        ok: vMote <= 0.08,
      }),
      infoRow({
        id: 'P3',
        measure: `${CONCURRENT} concurrent cold \`mote pull\` processes of the ${fmtNum(image.totalBytes / MiB)} MiB image on one empty cache: wall time until all exit vs one cold pull`,
        mote: `${CONCURRENT} concurrent: ${t('concurrent').toFixed(2)} s`,
        base: `one cold pull: ${t('cold').toFixed(2)} s`,
        ratio: `${fmtNum(concRatio, 2)}× time`,
      }),
      infoRow({
        id: 'P4',
        measure: `cold \`mote pull\` CLI process of a ${fmtNum(big.totalBytes / MiB)} MiB image (${sizes.bigLayers} × ${sizes.bigLayerMiB} MiB random layers): peak RSS (${peakHow}), wall time; \`skopeo copy\` of the same${sizes.bigRounds > 1 ? `, medians of ${sizes.bigRounds}` : ', one run each'}`,
        mote: `${fmtNum(bigMote.peak / MiB, 1)} MiB, ${bigMote.s.toFixed(2)} s`,
        base: `skopeo copy: ${fmtNum(bigSkopeo.peak / MiB, 1)} MiB, ${bigSkopeo.s.toFixed(2)} s`,
        ratio: `RSS ${fmtNum(bigMote.peak / bigSkopeo.peak, 2)}×, time ${fmtNum(bigMote.s / bigSkopeo.s, 2)}×`,
      }),
      infoRow({
        id: 'P5',
        measure: `cold \`mote pull\` of a ${fmtNum(many.totalBytes / MiB, 1)} MiB image of ${sizes.manyLayers} × ${sizes.manyLayerKiB} KiB random layers vs \`skopeo copy docker:// oci:\`, time ratio`,
        mote: `${s(manyTimes.cold).toFixed(2)} s`,
        base: `skopeo copy: ${s(manyTimes.skopeo).toFixed(2)} s`,
        ratio: `${fmtNum(manyRatio, 2)}× time`,
      }),
    ];
    const details = Object.entries(times).map(([name, ms]) => `  - ${name}: ${ms.map((m) => `${fmtNum(m)} ms`).join(', ')}`);
    details.push(
      `  - concurrent, per round: registry served ${servedNotes.map((x) => x.served).join(', ')} blob bytes for an image of ${image.blobBytes}; the pulls reported ${servedNotes.map((x) => x.reported).join(', ')}`,
      `  - \`mote --version\`: ${version.mote.map((m) => `${fmtNum(m)} ms`).join(', ')}; \`node -e 0\`: ${version.node.map((m) => `${fmtNum(m)} ms`).join(', ')}`,
      `  - ${sizes.manyLayers} × ${sizes.manyLayerKiB} KiB layers: mote cold ${manyTimes.cold.map((m) => `${fmtNum(m)} ms`).join(', ')}; skopeo ${manyTimes.skopeo.map((m) => `${fmtNum(m)} ms`).join(', ')}`,
      `  - ${bigLabel(sizes.bigLayers, sizes.bigLayerMiB)}: mote cold ${bigRuns.mote.map((x) => `${fmtNum(x.ms)} ms / ${fmtNum(x.peak / MiB, 1)} MiB`).join(', ')}; skopeo ${bigRuns.skopeo.map((x) => `${fmtNum(x.ms)} ms / ${fmtNum(x.peak / MiB, 1)} MiB`).join(', ')} (peak RSS by ${peakHow})`,
    );
    return { rows, details };
  } finally {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
