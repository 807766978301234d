/**
 * `mote pull`'s progress display on its own: the terminal rendering on a fake TTY stream (what a person sees,
 * escape codes stripped), the plain mode's schedule of total lines under fake timers, and the tally behind both.
 * The plain lines as the CLI prints them against a real registry: test/cli/pull.test.ts.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatElapsed } from '../../src/cli/duration.js';
import { LATER_TOTAL_LINE_MS, PullTally, TOTAL_LINE_MS, pullProgress } from '../../src/cli/pull-progress.js';
import type { PullProgressEvent } from '../../src/pull/index.js';

const MANIFEST = `sha256:${'a'.repeat(64)}`;
const CONFIG = `sha256:${'c'.repeat(64)}`;
const LAYER = `sha256:${'1'.repeat(64)}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** A stream that says it is a terminal and keeps what is written. */
class FakeTty extends Writable {
  readonly isTTY = true;
  readonly columns = 160;
  readonly rows = 40;
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += String(chunk);
    cb();
  }
}

// eslint-disable-next-line no-control-regex
const plain = (s: string): string => s.replace(/\x1B\[[0-9;?]*[A-Za-z]|\x1B[78]/g, '');

/** A clock the test moves. */
function clock(): { now: () => number; at: (ms: number) => void } {
  let t = 1_000;
  return { now: () => t, at: (ms) => (t = 1_000 + ms) };
}

/** A pull of one manifest (registry), one config (cache) and one 1,000,000-byte layer (registry). */
function startOfPull(on: (e: PullProgressEvent) => void, c: ReturnType<typeof clock>): void {
  on({ type: 'start', digest: MANIFEST, mediaType: OCI_MANIFEST, kind: 'manifest', size: 500, source: 'registry' });
  c.at(10);
  on({ type: 'done', digest: MANIFEST, mediaType: OCI_MANIFEST, kind: 'manifest', size: 500, received: 500, source: 'registry' });
  on({ type: 'plan', blobs: 2, size: 1_003_000 });
  on({ type: 'start', digest: CONFIG, mediaType: 'application/vnd.oci.image.config.v1+json', kind: 'config', size: 3_000, source: 'cache' });
  on({ type: 'done', digest: CONFIG, mediaType: 'application/vnd.oci.image.config.v1+json', kind: 'config', size: 3_000, received: 3_000, source: 'cache' });
  c.at(100);
  on({ type: 'start', digest: LAYER, mediaType: LAYER_TYPE, kind: 'layer', size: 1_000_000, source: 'registry' });
  c.at(1_100);
  on({ type: 'progress', digest: LAYER, size: 1_000_000, received: 500_000, source: 'registry' });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('pull progress on a terminal', () => {
  it('draws a total bar and a bar per download with kind, speed and ETA; a finished blob leaves a line; stop clears the bars', async () => {
    const tty = new FakeTty();
    const c = clock();
    const p = pullProgress({ stream: tty, tty: true, now: c.now });
    startOfPull((e) => p.onProgress(e), c);
    // The bars are drawn by cli-progress's own timer (10 frames a second).
    await vi.waitFor(() => expect(plain(tty.text)).toContain('50%'), { timeout: 2_000, interval: 20 });
    const frame = plain(tty.text);
    // kind, short digest, bar, percent, bytes, the layer's own speed (500,000 B in 1 s) and ETA (1 s left).
    expect(frame).toMatch(/layer {4}sha256:111111111111 \[█{10}░{10}\] {2}50% 488\.3 KiB \/ 976\.6 KiB, 488\.3 KiB\/s, ETA 1\.0s/);
    // the total: 2 of 3 blobs, 503,500 of 1,003,500 bytes; speed over the window (500,500 B from the registry in 1.1 s).
    expect(frame).toMatch(/total {4}2\/3 blobs {11}\[█{10}░{10}\] 491\.7 KiB of 980 KiB \(50%\), 2 of 3 blobs, 444\.3 KiB\/s, ETA 1\.0s, 1\.1s elapsed/);
    // finished blobs left their line: the manifest downloaded, the config found in the cache.
    expect(frame).toMatch(/manifest sha256:aaaaaaaaaaaa {6}500 B {2}downloaded in 0\.0s/);
    expect(frame).toMatch(/config {3}sha256:cccccccccccc {4}2\.9 KiB {2}in cache/);

    c.at(2_100);
    p.onProgress({ type: 'done', digest: LAYER, mediaType: LAYER_TYPE, kind: 'layer', size: 1_000_000, received: 1_000_000, source: 'registry' });
    p.stop();
    p.stop(); // idempotent
    const end = plain(tty.text);
    expect(end).toMatch(/layer {4}sha256:111111111111 {2}976\.6 KiB {2}downloaded in 2\.0s\n/);
    // The bars cleared at the end (erase below the cursor), the cursor shown again.
    const last = tty.text.slice(tty.text.lastIndexOf('downloaded in 2.0s'));
    expect(last).toContain('\x1B[0J');
    expect(last).toContain('\x1B[?25h');
    // Nothing more after stop.
    const before = tty.text;
    p.onProgress({ type: 'start', digest: LAYER, mediaType: LAYER_TYPE, kind: 'layer', size: 1, source: 'registry' });
    await new Promise((r) => setTimeout(r, 150));
    expect(tty.text).toBe(before);
  });

  it('a pull that fails mid-download: stop() clears the bars and ends the redraws', async () => {
    const tty = new FakeTty();
    const c = clock();
    const p = pullProgress({ stream: tty, tty: true, now: c.now });
    startOfPull((e) => p.onProgress(e), c);
    p.stop();
    const after = tty.text.length;
    await new Promise((r) => setTimeout(r, 250));
    expect(tty.text.length).toBe(after);
  });
});

describe('pull progress in a log (not a terminal)', () => {
  it('a line per download started and per blob finished, no escape codes', () => {
    vi.useFakeTimers();
    const out = new FakeTty();
    const c = clock();
    const p = pullProgress({ stream: out, tty: false, now: c.now });
    startOfPull((e) => p.onProgress(e), c);
    c.at(2_100);
    p.onProgress({ type: 'done', digest: LAYER, mediaType: LAYER_TYPE, kind: 'layer', size: 1_000_000, received: 1_000_000, source: 'registry' });
    p.stop();
    expect(out.text.split('\n')).toEqual([
      `downloading manifest ${MANIFEST} (500 B)`,
      `downloaded  manifest ${MANIFEST} 500 B in 0.0s (48.8 KiB/s)`,
      `in cache    config ${CONFIG} 2.9 KiB`,
      `downloading layer ${LAYER} (976.6 KiB)`,
      `downloaded  layer ${LAYER} 976.6 KiB in 2.0s (488.3 KiB/s)`,
      '',
    ]);
    expect(out.text).not.toContain('\x1B');
  });

  it('the total every 5 s for the first minute, then every 30 s: bounded however long the pull; none after stop', () => {
    vi.useFakeTimers();
    const out = new FakeTty();
    const c = clock();
    const p = pullProgress({ stream: out, tty: false, now: () => c.now() });
    startOfPull((e) => p.onProgress(e), c);
    out.text = '';
    vi.advanceTimersByTime(TOTAL_LINE_MS - 1);
    expect(out.text).toBe('');
    c.at(TOTAL_LINE_MS);
    vi.advanceTimersByTime(1);
    expect(out.text).toMatch(/^total: 491\.7 KiB of 980 KiB \(50%\), 2 of 3 blobs, [\d.]+ KiB\/s, ETA [\d.]+s, 5\.0s elapsed\n$/);
    // Ten minutes: 12 lines in the first minute, then one every 30 s.
    vi.advanceTimersByTime(10 * 60_000 - TOTAL_LINE_MS);
    const lines = out.text.trim().split('\n');
    expect(lines.every((l) => l.startsWith('total: '))).toBe(true);
    expect(lines.length).toBe(12 + Math.floor((10 * 60_000 - 12 * TOTAL_LINE_MS) / LATER_TOTAL_LINE_MS));
    p.stop();
    const n = out.text.length;
    vi.advanceTimersByTime(10 * 60_000);
    expect(out.text.length).toBe(n);
  });

  it('no total line before anything is known', () => {
    vi.useFakeTimers();
    const out = new FakeTty();
    const p = pullProgress({ stream: out, tty: false });
    vi.advanceTimersByTime(3 * TOTAL_LINE_MS);
    expect(out.text).toBe('');
    p.stop();
  });
});

describe('PullTally', () => {
  it('the plan stands for configs and layers; manifests count once finished; a stall brings the speed down', () => {
    const c = clock();
    const t = new PullTally(c.now);
    startOfPull((e) => t.apply(e), c);
    expect(t.total()).toEqual({ blobs: 3, bytes: 1_003_500 });
    expect(t.done()).toEqual({ blobs: 2, bytes: 503_500 });
    expect(t.speed()).toBeCloseTo((500_500 * 1000) / 1_100, 0);
    // Nothing for 10 s: nothing arrived within the window.
    c.at(11_100);
    expect(t.speed()).toBe(0);
    expect(t.eta()).toBeUndefined();
  });

  it('without a plan, the configs and layers started so far', () => {
    const c = clock();
    const t = new PullTally(c.now);
    t.apply({ type: 'start', digest: LAYER, mediaType: LAYER_TYPE, kind: 'layer', size: 10, source: 'registry' });
    expect(t.total()).toEqual({ blobs: 1, bytes: 10 });
  });
});

describe('formatElapsed', () => {
  it.each([
    [0, '0.0s'],
    [420, '0.4s'],
    [9_999, '9.9s'],
    [12_345, '12s'],
    [125_000, '2m05s'],
    [3_720_000, '1h02m'],
  ])('%d ms is %s', (ms, text) => expect(formatElapsed(ms)).toBe(text));
});
