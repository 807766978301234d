// Case: `mote pull` against a real registry (Debian's docker-registry on loopback), side by side with
// `skopeo copy docker://… oci:…` of the same ~200 MiB image:
//   P1a cold pull (empty cache) vs skopeo copy, alternating rounds: target mote ≤ 1.15× skopeo's time;
//   P1b warm pull (everything cached) vs the cold pull, both as library calls in this process (a process start,
//       ~0.25 s of Node, would otherwise dominate the warm side): target ≥ 5× faster; the CLI's warm time is shown;
//   P1c 4 concurrent `mote pull` processes on one empty cache: bytes served by the registry = 1× the image.
// Both tools run as processes (each pays its start-up). Bytes served are read from the registry's own access log.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants as zlibConstants, gzipSync } from 'node:zlib';
import { absRow, fmtNum, freePort, median, MiB, which } from '../util.mjs';

export const title = '`mote pull` vs `skopeo copy` (real registry on loopback)';

const LAYERS = 4;
const LAYER_MiB = 50;
const CONCURRENT = 4;
const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

async function startRegistry(dir) {
  const port = await freePort();
  const config = join(dir, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n` +
      `http:\n  addr: 127.0.0.1:${port}\n`,
  );
  const logPath = join(dir, 'access.log');
  const logFd = openSync(logPath, 'a');
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  let exited = false;
  const exit = new Promise((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => !exited && child.kill('SIGKILL'), 2000);
      await exit;
      clearTimeout(t);
    }
  };
  const deadline = Date.now() + 10_000;
  while (!exited && Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v2/`);
      if (res.ok) return { host: `127.0.0.1:${port}`, logPath, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  await stop();
  throw new Error('docker-registry did not answer GET /v2/ within 10 s');
}

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

// ---- the image: LAYERS tar+gzip layers of LAYER_MiB random bytes (one file each), an OCI layout ----

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

function makeImage(layout) {
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  const layers = [];
  const diffIds = [];
  for (let i = 0; i < LAYERS; i++) {
    const size = LAYER_MiB * MiB;
    const data = randomBytes(size);
    const end = Buffer.alloc(512 * 2 + ((512 - (size % 512)) % 512));
    // gzip like real layers (Huffman-only level 1: still ordinary gzip, fast to make from random bytes).
    const tar = Buffer.concat([tarHeader(`layer${i}.bin`, size), data, end]);
    diffIds.push(`sha256:${createHash('sha256').update(tar).digest('hex')}`);
    const gz = gzipSync(tar, { level: 1, strategy: zlibConstants.Z_HUFFMAN_ONLY });
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...writeBlob(layout, [gz]) });
  }
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
  return { blobBytes, sizes, totalBytes: blobBytes + manifestDesc.size };
}

// ---- running the tools ----

function exec(cmd, args) {
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

const skopeoCopy = (host, dest) => exec('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${host}/bench/image:v1`, `oci:${dest}:v1`]);
const motePull = (host, dest, cache) =>
  exec(process.execPath, [cli, 'pull', `${host}/bench/image:v1`, '--to', `oci:${dest}:v1`, '--cache', cache, '--json']);

function skipped(why) {
  const measure = `${LAYERS} × ${LAYER_MiB} MiB image`;
  return {
    rows: [
      absRow({ id: 'P1a', measure: `cold \`mote pull\` of a ${measure} vs \`skopeo copy\`: ${why}`, maxText: '≤ 1.15× skopeo' }),
      absRow({ id: 'P1b', measure: `warm pull vs cold pull: ${why}`, maxText: '≥ 5× faster' }),
      absRow({ id: 'P1c', measure: `${CONCURRENT} concurrent pulls, bytes from the registry: ${why}`, maxText: '= 1× image' }),
    ],
    details: [`  - skipped: ${why}`],
  };
}

export async function run({ lib, tmp, rounds, log }) {
  if (!lib || typeof lib.pull !== 'function') return skipped('motecache not built');
  for (const tool of ['docker-registry', 'skopeo']) {
    if (!which(tool)) return skipped(`${tool} not installed (apt-get install ${tool})`);
  }
  const dir = join(tmp, 'pull');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const registry = await startRegistry(dir);
  try {
    const layout = join(dir, 'layout');
    const t0 = performance.now();
    const image = makeImage(layout);
    // --preserve-digests: never recompress on the way in (the digests pulled are the ones made here).
    await exec('skopeo', ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${registry.host}/bench/image:v1`]);
    log(`  image ${fmtNum(image.totalBytes / MiB, 1)} MiB pushed to ${registry.host} in ${fmtNum(performance.now() - t0)} ms`);
    rmSync(layout, { recursive: true, force: true });

    const n = Math.max(3, Math.min(rounds, 5));
    const times = { skopeo: [], cold: [], warm: [], libCold: [], libWarm: [] };
    const ref = `${registry.host}/bench/image:v1`;
    const libPull = async (dest, cache) => {
      const t0 = performance.now();
      const result = await lib.pull(ref, `oci:${dest}:v1`, { cache });
      return { ms: performance.now() - t0, result };
    };
    for (let r = 0; r < n; r++) {
      const out = (name) => join(dir, `${name}-${r}`);
      const cache = join(dir, `cache-${r}`);
      // Alternate which tool goes first so neither always meets the other's page-cache leftovers.
      const order = r % 2 === 0 ? ['skopeo', 'cold'] : ['cold', 'skopeo'];
      for (const which of order) {
        const res = which === 'skopeo' ? await skopeoCopy(registry.host, out('skopeo')) : await motePull(registry.host, out('cold'), cache);
        times[which].push(res.ms);
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
        `    round ${r + 1}/${n}: skopeo ${fmtNum(times.skopeo[r])} ms, mote cold ${fmtNum(times.cold[r])} ms, mote warm ${fmtNum(times.warm[r])} ms;` +
          ` pull() cold ${fmtNum(times.libCold[r])} ms, warm ${fmtNum(times.libWarm[r])} ms`,
      );
      for (const d of [out('skopeo'), out('cold'), out('warm'), out('lib-cold'), out('lib-warm'), cache, libCache]) rmSync(d, { recursive: true, force: true });
    }

    // P1c: CONCURRENT processes on one empty cache; the registry's log says what it served.
    const cache = join(dir, 'cache-concurrent');
    const before = blobGets(registry.logPath).length;
    const results = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => motePull(registry.host, join(dir, `conc-${i}`), cache)));
    // The access log is written as responses complete; give the last lines a moment to land.
    await new Promise((r) => setTimeout(r, 200));
    const gets = blobGets(registry.logPath).slice(before);
    // A ranged GET (a resume) is weighed as a whole blob: an upper bound, and there should be none.
    const served = gets.reduce((sum, g) => sum + (image.sizes.get(g.digest) ?? NaN), 0);
    if (served !== image.blobBytes) log(gets.map((g) => `      ${g.line}`).join('\n'));
    const reported = results.reduce((s, r) => s + JSON.parse(r.out).bytesFromRegistry, 0);
    log(`    ${CONCURRENT} concurrent pulls: ${gets.length} blob GETs (${gets.filter((g) => g.ranged).length} ranged) for ${image.sizes.size} blobs, ${served} bytes, pulls reported ${reported}`);

    const s = (name) => median(times[name]) / 1000;
    const ratioCold = s('cold') / s('skopeo');
    const speedupWarm = s('libCold') / s('libWarm');
    const servedRatio = served / image.blobBytes;
    const rows = [
      absRow({
        id: 'P1a',
        measure: `cold \`mote pull\` (empty cache) of a ${fmtNum(image.totalBytes / MiB)} MiB image (${LAYERS} layers) vs \`skopeo copy docker:// oci:\`, time ratio`,
        value: ratioCold,
        text: `${s('cold').toFixed(2)} s vs ${s('skopeo').toFixed(2)} s = ${ratioCold.toFixed(2)}×`,
        max: 1.15,
        maxText: '≤ 1.15× skopeo',
      }),
      // absRow compares value ≤ max; a speed-up is "at least", so its negation is compared.
      absRow({
        id: 'P1b',
        measure: 'warm pull (everything cached) vs cold pull, `pull()` in one process, speed-up (CLI: warm vs cold process)',
        value: -speedupWarm,
        text: `${s('libWarm').toFixed(3)} s vs ${s('libCold').toFixed(2)} s: ${speedupWarm.toFixed(1)}× faster (CLI ${s('warm').toFixed(2)} s vs ${s('cold').toFixed(2)} s: ${(s('cold') / s('warm')).toFixed(1)}×)`,
        max: -5,
        maxText: '≥ 5× faster',
      }),
      absRow({
        id: 'P1c',
        measure: `${CONCURRENT} concurrent \`mote pull\` processes on one empty cache: blob bytes the registry served (GETs in its access log × blob size) / image blob bytes`,
        value: servedRatio,
        text: `${fmtNum(served / MiB, 1)} MiB / ${fmtNum(image.blobBytes / MiB, 1)} MiB = ${servedRatio.toFixed(2)}× (pulls reported ${fmtNum(reported / MiB, 1)} MiB)`,
        max: 1.0,
        maxText: '= 1×',
      }),
    ];
    const details = Object.entries(times).map(([name, ms]) => `  - ${name}: ${ms.map((m) => `${fmtNum(m)} ms`).join(', ')}`);
    details.push(`  - concurrent: registry served ${served} blob bytes for an image of ${image.blobBytes}; the pulls reported ${reported}`);
    return { rows, details };
  } finally {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
