// Case 13: `mote serve` as a pull-through mirror vs docker-registry in proxy mode (distribution 2.8,
// `proxy.remoteurl`), both in front of the same upstream docker-registry on loopback, each on its own empty storage:
//   S1 cold: 16 concurrent clients pull one uncached 4-layer image (manifest + every blob, bodies read to the end):
//      upstream blob bytes / image size (target 1.00×; distribution's recorded), and wall time (target ≤ distribution's);
//   S2 warm: 16 clients pull the cached image again: MiB/s served (target ≥ 1× distribution's);
//   S3 cached manifest by tag, 2,000 GETs 8 at a time: p99 latency (target ≤ 5 ms; distribution's recorded);
//   S4 the mirror process's peak RSS over S1-S3 (VmHWM; target ≤ 200 MiB).
// Clients are fetch() calls in this process; both servers are separate processes.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry } from '../registry.mjs';
import { absRow, checkRow, fmtNum, freePort, infoRow, MiB, ratioRow, which } from '../util.mjs';

export const title = '`mote serve` vs docker-registry proxy mode (16 clients, loopback)';

const CLIENTS = 16;
const MANIFEST_GETS = 2000;
const MANIFEST_CONCURRENCY = 8;
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
const cli = fileURLToPath(new URL('../../dist/bin/mote.js', import.meta.url));

const sha = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function waitFor(url) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      if (r.status < 500) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${url} did not answer within 15 s`);
}

function startProcess(cmd, args, logPath) {
  const fd = openSync(logPath, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exit = new Promise((r) => child.once('exit', r));
  return {
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(t);
    },
  };
}

/** Peak RSS (VmHWM) of a live process, bytes. */
function peakRss(pid) {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : undefined;
}

/** Pushes `layers` random layers of `layerBytes` + a config + a manifest as bench/app:v1 (library client). */
async function pushImage(lib, host, layers, layerBytes) {
  const client = new lib.RegistryClient({ credentials: false, insecure: [host] });
  const repo = `${host}/bench/app`;
  const descs = [];
  for (let i = 0; i < layers; i++) {
    const b = randomBytes(layerBytes);
    descs.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(b), size: b.length });
    await client.pushBlob(repo, sha(b), b);
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: descs.map((d) => d.digest) } }));
  await client.pushBlob(repo, sha(config), config);
  const configDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length };
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers: descs }));
  await client.putManifest(repo, 'v1', manifest, 'application/vnd.oci.image.manifest.v1+json');
  await client.close();
  return { blobs: [...descs, configDesc], size: descs.reduce((s, d) => s + d.size, 0) + config.length + manifest.length };
}

/** One client: the manifest by tag, then every blob, bodies read to the end. Returns bytes received. */
async function pullOnce(base, image) {
  const m = await fetch(`${base}/v2/bench/app/manifests/v1`, { headers: { accept: ACCEPT } });
  let bytes = (await m.arrayBuffer()).byteLength;
  if (m.status !== 200) throw new Error(`${base}: manifest ${m.status}`);
  await Promise.all(
    image.blobs.map(async (d) => {
      const r = await fetch(`${base}/v2/bench/app/blobs/${d.digest}`);
      if (r.status !== 200) throw new Error(`${base}: blob ${r.status}`);
      let n = 0;
      for await (const c of r.body) n += c.length;
      if (n !== d.size) throw new Error(`${base}: blob ${d.digest} gave ${n} of ${d.size} bytes`);
      bytes += n;
    }),
  );
  return bytes;
}

async function manyClients(base, image) {
  const t0 = performance.now();
  const got = await Promise.all(Array.from({ length: CLIENTS }, () => pullOnce(base, image)));
  return { ms: performance.now() - t0, bytes: got.reduce((s, n) => s + n, 0) };
}

async function manifestP99(base) {
  const lat = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: MANIFEST_CONCURRENCY }, async () => {
      while (next++ < MANIFEST_GETS) {
        const t0 = performance.now();
        const r = await fetch(`${base}/v2/bench/app/manifests/v1`, { headers: { accept: ACCEPT } });
        await r.arrayBuffer();
        lat.push(performance.now() - t0);
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { p50: lat[Math.floor(lat.length * 0.5)], p99: lat[Math.floor(lat.length * 0.99)] };
}

/** Upstream blob bytes served since `from` (its access log: successful blob GETs, weighed by each blob's size). */
function upstreamBlobBytes(logPath, sizes, from) {
  let total = 0;
  for (const line of readFileSync(logPath, 'utf8').slice(from).split('\n')) {
    const m = /"GET \/v2\/\S+\/blobs\/(sha256:[0-9a-f]{64}) HTTP\/[\d.]+" 200 /.exec(line);
    if (m) total += sizes.get(m[1]) ?? 0;
  }
  return total;
}

export async function run({ lib, tmp, log, sizes: all }) {
  const layerMiB = all.serveLayerMiB ?? 50;
  if (!lib) return { rows: [infoRow({ id: 'S', measure: 'mote serve', mote: 'skipped: motecache not built' })], details: [] };
  if (!which('docker-registry')) return { rows: [infoRow({ id: 'S', measure: 'mote serve', mote: 'skipped: docker-registry not installed' })], details: [] };
  const dir = join(tmp, 'serve');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const upstream = await startRegistry(dir);
  const stops = [upstream.stop];
  try {
    const image = await pushImage(lib, upstream.host, 4, layerMiB * MiB);
    const sizes = new Map(image.blobs.map((d) => [d.digest, d.size]));
    const blobBytes = image.blobs.reduce((s, d) => s + d.size, 0);
    log(`  image bench/app:v1: 4 × ${layerMiB} MiB, pushed`);

    const motePort = await freePort();
    const mote = startProcess(process.execPath, [cli, 'serve', '--cache', join(dir, 'mote-cache'), '--upstream', `http://${upstream.host}`, '--listen', `127.0.0.1:${motePort}`], join(dir, 'mote.log'));
    stops.push(mote.stop);
    const proxyPort = await freePort();
    const proxyDir = join(dir, 'proxy');
    mkdirSync(proxyDir, { recursive: true });
    writeFileSync(
      join(proxyDir, 'config.yml'),
      `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${join(proxyDir, 'data')}\n` +
        `http:\n  addr: 127.0.0.1:${proxyPort}\nproxy:\n  remoteurl: http://${upstream.host}\n`,
    );
    const proxy = startProcess('docker-registry', ['serve', join(proxyDir, 'config.yml')], join(proxyDir, 'log'));
    stops.push(proxy.stop);
    const moteBase = `http://127.0.0.1:${motePort}`;
    const proxyBase = `http://127.0.0.1:${proxyPort}`;
    await Promise.all([waitFor(`${moteBase}/v2/`), waitFor(`${proxyBase}/v2/`)]);

    const res = {};
    for (const [name, base] of [['mote', moteBase], ['distribution', proxyBase]]) {
      const from = readFileSync(upstream.logPath, 'utf8').length;
      const cold = await manyClients(base, image);
      const up = upstreamBlobBytes(upstream.logPath, sizes, from);
      const warm = await manyClients(base, image);
      const { p50, p99 } = await manifestP99(base);
      res[name] = { cold, ratio: up / blobBytes, warm, p99 };
      log(`  ${name}: cold ${fmtNum(cold.ms)} ms, upstream ${fmtNum(up / blobBytes, 2)}× the blobs; warm ${fmtNum((warm.bytes / MiB) / (warm.ms / 1000))} MiB/s; manifest p50 ${fmtNum(p50, 2)} ms, p99 ${fmtNum(p99, 2)} ms; load average ${os.loadavg()[0].toFixed(1)}`);
    }
    const rss = peakRss(mote.pid);
    const m = res.mote;
    const d = res.distribution;
    const rows = [
      checkRow({ id: 'S1a', measure: `cold, ${CLIENTS} clients, 4 × ${layerMiB} MiB: upstream blob bytes / image blobs`, mote: `${fmtNum(m.ratio, 2)}×`, base: `distribution: ${fmtNum(d.ratio, 2)}×`, target: '1.00×', ok: Math.abs(m.ratio - 1) < 0.005 }),
      checkRow({ id: 'S1b', measure: `cold, ${CLIENTS} clients: wall time`, mote: `${fmtNum(m.cold.ms)} ms`, base: `distribution: ${fmtNum(d.cold.ms)} ms`, ratio: `${fmtNum(m.cold.ms / d.cold.ms, 2)}×`, target: '≤ distribution', ok: m.cold.ms <= d.cold.ms }),
      ratioRow({ id: 'S2', measure: `warm, ${CLIENTS} clients: MiB/s served`, unit: 'MiB/s', mote: { value: m.warm.bytes / MiB / (m.warm.ms / 1000) }, base: { label: 'distribution', value: d.warm.bytes / MiB / (d.warm.ms / 1000) }, minRatio: 1 }),
      absRow({ id: 'S3', measure: `cached manifest by tag, ${MANIFEST_GETS} GETs ${MANIFEST_CONCURRENCY} at a time: p99 (distribution: ${fmtNum(d.p99, 2)} ms)`, value: m.p99, text: `${fmtNum(m.p99, 2)} ms`, max: 5, maxText: '≤ 5 ms' }),
      absRow({ id: 'S4', measure: 'mote serve peak RSS over S1-S3', value: rss === undefined ? undefined : rss / MiB, text: `${fmtNum((rss ?? 0) / MiB)} MiB`, max: 200, maxText: '≤ 200 MiB' }),
    ];
    return { rows, details: [`  - S: clients are fetch() in the bench process; both servers separate processes on empty storage; the machine is shared (figures noisy).`] };
  } finally {
    for (const s of stops.reverse()) await s().catch(() => {});
  }
}
