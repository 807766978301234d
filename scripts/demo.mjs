#!/usr/bin/env node
/**
 * A tour of motecache through its CLI, on the two fixture images (alpha and beta share a layer).
 *
 * Run with `npm run demo` (builds first). Uses a fresh temporary cache, removed at the end unless `--keep` is given.
 * Every step that the script checks runs `mote --json` and parses the output; the script exits non-zero if
 * anything does not come out as expected.
 *
 * Step 6 pulls both images through the cache from a real registry (Debian's `docker-registry`, started on a free
 * loopback port, the images pushed with `skopeo`). Without those two tools it says how to get them and skips.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BytesTracker } from '../dist/index.js';
import { formatSize } from '../dist/cli/size.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAIN = path.join(ROOT, 'dist', 'bin', 'mote.js');
const LAYOUT = path.join(ROOT, 'fixtures', 'oci-layout');
const KEEP = process.argv.includes('--keep');

const cacheDir = mkdtempSync(path.join(tmpdir(), 'mote-demo-'));

/** Runs `mote --cache <cacheDir> args...`; resolves to its output, rejects on a non-zero exit. */
function mote(args) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [MAIN, '--cache', cacheDir, ...args],
      { encoding: 'buffer', maxBuffer: 256 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          const detail = stderr.toString('utf8').trim() || err.message;
          reject(new Error(`mote ${args.join(' ')} failed (exit ${err.code}): ${detail}`));
        } else {
          resolve({ stdout, text: stdout.toString('utf8') });
        }
      },
    );
  });
}
const moteJson = async (args) => JSON.parse((await mote(['--json', ...args])).text);

/** Maps `items` through `fn`, at most `limit` at a time; results keep the order of `items`. */
async function pool(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function check(condition, message) {
  if (!condition) throw new Error(`demo check failed: ${message}`);
}

const blobPath = (digest) => path.join(LAYOUT, 'blobs', ...digest.split(':'));
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const short = (digest) => `${digest.slice(0, 'sha256:'.length + 12)}…`;
const indent = (text) => text.trimEnd().replace(/^/gm, '    ');

const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A docker-registry on a free loopback port, its data in `dir`. Resolves to `{ host, stop }`. */
async function startRegistry(dir) {
  const port = await freePort();
  const config = path.join(dir, 'registry.yml');
  writeFileSync(config, `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'data')}\nhttp:\n  addr: 127.0.0.1:${port}\n`);
  const log = openSync(path.join(dir, 'registry.log'), 'a');
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', log, log] });
  closeSync(log);
  const stop = () => child.kill('SIGTERM');
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v2/`)).ok) return { host: `127.0.0.1:${port}`, stop };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  stop();
  throw new Error('docker-registry did not start');
}

const run = (cmd, args) =>
  new Promise((resolve, reject) =>
    execFile(cmd, args, (err, _out, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve())),
  );

/** Step 6: `mote pull` from a registry, through the cache. Returns a summary line, or undefined when skipped. */
async function pullStep() {
  if (!which('docker-registry') || !which('skopeo')) {
    console.log('6. mote pull: skipped (needs a local registry: apt-get install docker-registry skopeo)\n');
    return undefined;
  }
  const registry = await startRegistry(cacheDir);
  try {
    for (const tag of ['alpha', 'beta']) {
      await run('skopeo', ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', `oci:${LAYOUT}:${tag}`, `docker://${registry.host}/demo/app:${tag}`]);
    }
    const pullCache = path.join(cacheDir, 'pull-cache');
    const out = path.join(cacheDir, 'pulled');
    console.log(`6. mote pull from a registry at ${registry.host} (loopback), through the cache ${pullCache}`);
    let fromRegistry = 0;
    let fromCache = 0;
    for (const [tag, note] of [['alpha', 'cold cache'], ['beta', 'shares a layer with alpha'], ['alpha', 'again: all cached']]) {
      const r = await moteJson(['--cache', pullCache, 'pull', `${registry.host}/demo/app:${tag}`, '--to', `oci:${out}:${tag}`]);
      check(r.blobs > 0 && r.bytesFromRegistry + r.bytesFromCache === r.tracker.deduplicated, `pull ${tag}: ${JSON.stringify(r)}`);
      console.log(`   ${tag.padEnd(5)} ${short(r.digest)}  ${String(r.bytesFromRegistry).padStart(6)} B from the registry, ${String(r.bytesFromCache).padStart(6)} B from the cache  (${note})`);
      fromRegistry += r.bytesFromRegistry;
      fromCache += r.bytesFromCache;
    }
    const pulled = readJson(path.join(out, 'index.json'));
    check(pulled.manifests.length === 2, `pulled layout index: ${JSON.stringify(pulled)}`);
    console.log(`   oci:${out} now holds ${pulled.manifests.length} images (umoci and skopeo read it)\n`);
    return `${fromRegistry} bytes from the registry, ${fromCache} from the cache over 3 pulls`;
  } finally {
    registry.stop();
  }
}

async function main() {
  const started = performance.now();
  console.log(`motecache demo — cache directory: ${cacheDir}\n`);

  // 1. Walk the layout: index.json → manifests → config + layers, each image bottom-up (layers, config, then the
  //    manifest that names them) as a pull would. The shared layer is therefore put twice. The puts run a few at a
  //    time, as concurrent processes on one cache (the two puts of the shared layer may well race; both succeed).
  const index = readJson(path.join(LAYOUT, 'index.json'));
  const puts = [];
  for (const manifestDescriptor of index.manifests) {
    const image = manifestDescriptor.annotations?.['org.opencontainers.image.ref.name'] ?? '?';
    const manifest = readJson(blobPath(manifestDescriptor.digest));
    for (const d of [...manifest.layers, manifest.config, manifestDescriptor]) puts.push({ image, descriptor: d });
  }
  const infos = await pool(puts, 4, ({ descriptor: d }) =>
    moteJson(['put', blobPath(d.digest), '--media-type', d.mediaType, '--digest', d.digest]),
  );
  const tracker = new BytesTracker();
  const blobs = new Map(); // digest → descriptor
  console.log(`1. mote put, every blob of both images (${puts.length} descriptors)`);
  puts.forEach(({ image, descriptor: d }, i) => {
    const info = infos[i];
    check(info.digest === d.digest && info.size === d.size && info.mediaType === d.mediaType, `put returned ${JSON.stringify(info)} for ${d.digest}`);
    const again = blobs.has(d.digest) ? '  (again: shared)' : '';
    tracker.add(d);
    blobs.set(d.digest, d);
    console.log(`   ${image.padEnd(5)}  ${short(d.digest)}  ${String(d.size).padStart(6)} B  ${d.mediaType}${again}`);
  });
  const saved = tracker.total - tracker.deduplicated;
  console.log(
    `   descriptors: ${formatSize(tracker.total)} referenced, ${formatSize(tracker.deduplicated)} unique ` +
      `(${tracker.total} vs ${tracker.deduplicated} bytes: ${saved} bytes saved by the shared layer)\n`,
  );
  check(saved > 0, 'the shared layer should make deduplicated < total');

  // 2. ls
  console.log('2. mote ls');
  const [listed, human] = await Promise.all([moteJson(['ls']), mote(['ls'])]);
  console.log(indent(human.text));
  check(listed.length === blobs.size, `ls lists ${listed.length} blobs, expected ${blobs.size}`);
  for (const info of listed) {
    const d = blobs.get(info.digest);
    check(d !== undefined && d.size === info.size && d.mediaType === info.mediaType, `unexpected ls entry ${JSON.stringify(info)}`);
  }
  console.log();

  // 3. get every blob back and compare with the fixture's bytes.
  const digests = [...blobs.keys()];
  const readBack = await pool(digests, 4, (d) => mote(['get', d]));
  digests.forEach((d, i) => check(readBack[i].stdout.equals(readFileSync(blobPath(d))), `mote get ${d} returned different bytes`));
  console.log(`3. mote get: read back ${digests.length} blobs, all byte-identical to the fixture\n`);

  // 4. verify
  const verified = await moteJson(['verify']);
  check(verified.corrupt.length === 0 && verified.checked === blobs.size, `verify: ${JSON.stringify(verified)}`);
  console.log(`4. mote verify: ${verified.checked} blobs re-hashed (${formatSize(verified.bytes)}), ${verified.corrupt.length} corrupt\n`);

  // 5. du, prune to about half, du again.
  const before = await moteJson(['du']);
  check(before.count === blobs.size && before.bytes === tracker.deduplicated, `du: ${JSON.stringify(before)}`);
  console.log(`5. mote du: ${before.count} blobs, ${formatSize(before.bytes)} (${before.bytes} bytes)`);
  const maxSize = Math.floor(before.bytes / 2);
  const pruned = await moteJson(['prune', '--max-size', String(maxSize)]);
  check(pruned.remainingBytes <= maxSize && pruned.removedCount > 0, `prune: ${JSON.stringify(pruned)}`);
  console.log(
    `   mote prune --max-size ${maxSize}: removed ${pruned.removedCount} blobs, freed ${formatSize(pruned.freedBytes)}, ` +
      `${formatSize(pruned.remainingBytes)} remaining`,
  );
  const after = await moteJson(['du']);
  check(after.count === before.count - pruned.removedCount && after.bytes === pruned.remainingBytes, `du after prune: ${JSON.stringify(after)}`);
  console.log(`   mote du: ${after.count} blobs, ${formatSize(after.bytes)} (${after.bytes} bytes)\n`);

  const pulled = await pullStep();

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log('Summary');
  console.log(`  images:      ${index.manifests.length} (${index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).join(', ')})`);
  console.log(`  blobs:       ${blobs.size} distinct, from ${puts.length} descriptors`);
  console.log(`  bytes:       ${tracker.total} referenced, ${tracker.deduplicated} stored`);
  console.log(`  dedup:       ${saved} bytes saved (${((100 * saved) / tracker.total).toFixed(1)}%)`);
  console.log(`  verify:      ${verified.checked} checked, ${verified.corrupt.length === 0 ? 'all intact' : `${verified.corrupt.length} corrupt`}`);
  console.log(`  prune:       ${before.bytes} → ${after.bytes} bytes (limit ${maxSize}), ${pruned.removedCount} blobs removed`);
  if (pulled) console.log(`  pull:        ${pulled}`);
  console.log(`  time:        ${seconds} s`);
}

try {
  await main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  if (KEEP) console.log(`\ncache kept at ${cacheDir}`);
  else rmSync(cacheDir, { recursive: true, force: true });
}
