// Shared helpers for the benchmark: timing, rounds, formatting, memory sampling, machine facts.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { rm, mkdir } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';

export const KiB = 1024;
export const MiB = 1024 * 1024;

// ---------------------------------------------------------------- data

/** `count` distinct buffers of `size` random bytes, carved out of one allocation. */
export function randomBuffers(count, size) {
  const out = new Array(count);
  // Fill in slabs of at most 64 MiB so no single randomFillSync call is huge.
  const perSlab = Math.max(1, Math.floor((64 * MiB) / size));
  for (let i = 0; i < count; i += perSlab) {
    const n = Math.min(perSlab, count - i);
    const slab = randomFillSync(Buffer.allocUnsafeSlow(n * size));
    for (let j = 0; j < n; j++) out[i + j] = slab.subarray(j * size, (j + 1) * size);
  }
  return out;
}

/** A byte-mode Readable that pushes the given (pre-generated) chunks, one per read(). */
export function chunkSource(chunks) {
  let i = 0;
  return new Readable({
    highWaterMark: chunks[0]?.length ?? 16 * KiB,
    read() {
      this.push(i < chunks.length ? chunks[i++] : null);
    },
  });
}

/** A deterministic permutation of 0..n-1 (so every implementation reads in the same order). */
export function shuffledIndices(n, seed = 12345) {
  const idx = Array.from({ length: n }, (_, i) => i);
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

/** Runs `fn(item, index)` over `items` with at most `limit` in flight. */
export async function pool(items, limit, fn) {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(workers);
}

/** Consumes a stream (Node Readable or Minipass) and returns the byte count. */
export async function drain(stream) {
  let n = 0;
  for await (const chunk of stream) n += chunk.length;
  return n;
}

// ---------------------------------------------------------------- disk & process hygiene

/** Flushes dirty pages (so one implementation's write-back does not land in the next one's timing) and collects garbage. */
export function settle({ sync = true } = {}) {
  if (sync) execFileSync('sync');
  if (typeof global.gc === 'function') {
    global.gc();
    global.gc();
  }
}

export async function rmrf(path) {
  await rm(path, { recursive: true, force: true, maxRetries: 3 });
}

export async function freshDir(path) {
  await rmrf(path);
  await mkdir(path, { recursive: true });
  return path;
}

// ---------------------------------------------------------------- rounds

export function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * Measures implementations in alternating rounds. Each impl is
 * `{ name, setup?(round) → state, run(state, round) → value, check?(value, state), teardown?(state) }`;
 * only `run` is timed. Before each timed run the disk is synced and the heap collected.
 *
 * - `rotate` (default true): round r starts with impl r (A B C, B C A, C A B, …), so no implementation always
 *   runs right after the same neighbour (with as many rounds as impls, each takes every position once).
 * - `warmup`: one untimed pass of every impl before the first round.
 * - `warmEach`: an untimed pass of the impl right before each timed pass (read-only cases): each is then timed in
 *   its own steady state (allocator, page cache, JIT), not in the state the previous impl left behind.
 *
 * Returns `{ [name]: number[] }` of milliseconds, in round order.
 */
export async function alternate({ rounds, impls, warmup = false, warmEach = false, rotate = true, log = () => {}, sync = true }) {
  const times = Object.fromEntries(impls.map((i) => [i.name, []]));
  const pass = async (impl, round, timed) => {
    const state = impl.setup ? await impl.setup(round) : undefined;
    settle({ sync });
    const t0 = performance.now();
    const value = await impl.run(state, round);
    const ms = performance.now() - t0;
    if (impl.check) await impl.check(value, state);
    if (impl.teardown) await impl.teardown(state);
    if (timed) {
      times[impl.name].push(ms);
      log(`    round ${round + 1}/${rounds} ${impl.name.padEnd(28)} ${ms.toFixed(1).padStart(9)} ms`);
    }
  };
  if (warmup) for (const impl of impls) await pass(impl, -1, false);
  for (let r = 0; r < rounds; r++) {
    const shift = rotate ? r % impls.length : 0;
    for (const impl of [...impls.slice(shift), ...impls.slice(0, shift)]) {
      if (warmEach) await pass(impl, r, false);
      await pass(impl, r, true);
    }
  }
  return times;
}

// ---------------------------------------------------------------- memory

function rssNow() {
  return process.memoryUsage.rss();
}

/** Resets the kernel's peak-RSS mark (VmHWM); false if the kernel does not let us. */
function resetPeakRss() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function peakRssFromKernel() {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

const SAMPLER_SRC = `
const { workerData, parentPort } = require('node:worker_threads');
const flag = new Int32Array(workerData.sab);
let peak = 0, samples = 0;
for (;;) {
  const r = process.memoryUsage.rss();
  if (r > peak) peak = r;
  samples++;
  if (Atomics.wait(flag, 0, 0, workerData.intervalMs) !== 'timed-out') break;
}
parentPort.postMessage({ peak, samples });
`;

/**
 * Samples the process RSS from a worker thread every `intervalMs`, so sampling goes on while the main
 * thread is busy in synchronous code. Also resets and reads the kernel's VmHWM where allowed.
 * Usage: `const s = await MemorySampler.start(5); … const { peak, kernelPeak, samples } = await s.stop();`
 */
export class MemorySampler {
  static async start(intervalMs = 5) {
    const s = new MemorySampler();
    s.sab = new SharedArrayBuffer(4);
    s.worker = new Worker(SAMPLER_SRC, { eval: true, workerData: { sab: s.sab, intervalMs } });
    s.done = new Promise((resolve, reject) => {
      s.worker.once('message', resolve);
      s.worker.once('error', reject);
    });
    await new Promise((resolve) => s.worker.once('online', resolve));
    // Let the worker settle its own allocation before the caller takes a baseline.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return s;
  }

  /** Call right before the measured work (after gc and the baseline reading). */
  mark() {
    this.kernelReset = resetPeakRss();
  }

  async stop() {
    const flag = new Int32Array(this.sab);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    const { peak, samples } = await this.done;
    await this.worker.terminate();
    return { peak, samples, kernelPeak: this.kernelReset ? peakRssFromKernel() : undefined };
  }
}

export { rssNow };

// ---------------------------------------------------------------- formatting

const nf = (digits) => new Intl.NumberFormat('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function fmtNum(n, digits = 0) {
  return nf(digits).format(n);
}

export function fmtBytes(bytes) {
  if (bytes >= MiB) return `${fmtNum(bytes / MiB, bytes % MiB ? 1 : 0)} MiB`;
  if (bytes >= KiB) return `${fmtNum(bytes / KiB, bytes % KiB ? 1 : 0)} KiB`;
  return `${bytes} B`;
}

/** MiB/s from bytes and milliseconds. */
export function mibps(bytes, ms) {
  return bytes / MiB / (ms / 1000);
}

/** Operations per second from a count and milliseconds. */
export function opsps(count, ms) {
  return count / (ms / 1000);
}

export function fmtRate(value, unit) {
  return `${fmtNum(value, value < 100 ? 1 : 0)} ${unit}`;
}

/**
 * A comparison row. `mote` and `base` are `{ label, value }` with value a rate (higher is better) or undefined
 * when not measured; `minRatio` is the target (mote/base ≥ minRatio), or undefined for a reference row.
 */
export function ratioRow({ id, measure, unit, mote, base, minRatio }) {
  const have = mote?.value !== undefined && base?.value !== undefined;
  const ratio = have ? mote.value / base.value : undefined;
  return {
    id,
    measure,
    mote: mote?.value !== undefined ? `${mote.label ? `${mote.label}: ` : ''}${fmtRate(mote.value, unit)}` : 'n/a',
    base: base?.value !== undefined ? `${base.label}: ${fmtRate(base.value, unit)}` : 'n/a',
    ratio: ratio === undefined ? '—' : `${fmtNum(ratio, 2)}×`,
    target: minRatio === undefined ? '— (reference)' : `≥ ${minRatio}×`,
    result: minRatio === undefined ? 'info' : ratio === undefined ? 'n/a' : ratio >= minRatio ? 'PASS' : 'MISS',
  };
}

/** An absolute row: `value` compared with `max` (strictly below when `strict`). */
export function absRow({ id, measure, value, text, max, maxText, strict = false }) {
  const ok = value === undefined ? undefined : strict ? value < max : value <= max;
  return {
    id,
    measure,
    mote: value === undefined ? 'n/a' : text,
    base: '—',
    ratio: '—',
    target: maxText,
    result: ok === undefined ? 'n/a' : ok ? 'PASS' : 'MISS',
  };
}

export function infoRow({ id, measure, mote, base = '—', ratio = '—' }) {
  return { id, measure, mote, base, ratio, target: '—', result: 'info' };
}

/** A row whose target is not a single number (several conditions): the caller says whether it is met. */
export function checkRow({ id, measure, mote, base = '—', ratio = '—', target, ok }) {
  return { id, measure, mote: ok === undefined ? 'n/a' : mote, base, ratio, target, result: ok === undefined ? 'n/a' : ok ? 'PASS' : 'MISS' };
}

const COLS = [
  ['id', '#'],
  ['measure', 'Measure'],
  ['mote', 'motecache'],
  ['base', 'Baseline'],
  ['ratio', 'Ratio'],
  ['target', 'Target'],
  ['result', 'Result'],
];

/** A Markdown table, padded so it also reads well on a terminal. */
export function renderTable(rows, cols = COLS) {
  const cells = rows.map((r) => cols.map(([k]) => String(r[k] ?? '').replace(/\|/g, '\\|')));
  const widths = cols.map(([, h], i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (vals) => `| ${vals.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  return [line(cols.map(([, h]) => h)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Per-implementation round figures for the details section. */
export function detailLines(times, toRate, unit) {
  return Object.entries(times).map(([name, ms]) => {
    if (!ms.length) return `  - ${name}: not run`;
    const rates = ms.map(toRate);
    const rs = rates.map((r) => fmtNum(r, r < 100 ? 1 : 0)).join(', ');
    const spread = (Math.max(...rates) / Math.min(...rates) - 1) * 100;
    return `  - ${name}: median ${fmtRate(toRate(median(ms)), unit)}; rounds ${rs} ${unit} (${ms.map((m) => m.toFixed(0)).join(', ')} ms; spread ${fmtNum(spread, 0)}%)`;
  });
}

// ---------------------------------------------------------------- machine

export function machineInfo(dir) {
  let fsType = 'unknown';
  let device = '';
  try {
    const out = execFileSync('df', ['-T', dir], { encoding: 'utf8' }).trim().split('\n');
    const fields = out[out.length - 1].split(/\s+/);
    device = fields[0];
    fsType = fields[1];
  } catch {
    /* keep unknown */
  }
  let mountOptions = '';
  try {
    mountOptions = execFileSync('findmnt', ['-n', '-o', 'OPTIONS', '--target', dir], { encoding: 'utf8' }).trim();
  } catch {
    /* findmnt missing */
  }
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory: `${fmtNum(os.totalmem() / 1024 ** 3, 1)} GiB`,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    fs: `${fsType} (${device}${mountOptions ? `, mounted ${mountOptions}` : ''})`,
  };
}

/** Path of `cmd` on PATH, or undefined (cases that need a system tool skip with a message without it). */
export function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

/** A free TCP port on loopback (for the services a case starts). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
