/**
 * Memory stays flat while streaming a 1 GiB mote: in through moteWriter (and put of an async iterable), out
 * through moteReader. The measurement runs in a child process (test/children/memory.mjs, --expose-gc) so that
 * vitest's own heap does not blur RSS; the child samples process.memoryUsage() every 5 ms and reports peaks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killLiveChildren, lastJson, listFilesRecursive, startChild } from '../../helpers/children.js';
import { makeTempDir, temporaries } from '../../helpers/tmp.js';

const MIB = 1 << 20;
const SIZE = 1024 * MIB;
/** Allowed growth of the peak over the baseline taken before any large buffer existed. */
const LIMIT = 100 * MIB;

interface Peak {
  rss: number;
  arrayBuffers: number;
  samples: number;
  ms: number;
}
interface MemoryReport {
  size: number;
  gcExposed: boolean;
  baseline: { rss: number; arrayBuffers: number };
  peaks: Record<string, Peak>;
  expected: { digest: string; size: number };
  publishedSize: number;
  readBack: { digest: string; size: number };
  put: { info: { digest: string; size: number }; expected: { digest: string; size: number }; size: number };
  leftAfterRemove: boolean[];
}

describe('memory while streaming 1 GiB', () => {
  let scratch: { dir: string; cleanup: () => void };
  let root = '';
  beforeAll(() => {
    scratch = makeTempDir('motecache-memory-');
    root = path.join(scratch.dir, 'cache');
  });
  afterAll(() => {
    killLiveChildren();
    scratch.cleanup();
    // The gigabyte is gone from disk whatever happened.
    expect(fs.existsSync(scratch.dir)).toBe(false);
  });

  it('peak RSS and arrayBuffers stay within 100 MiB of the baseline; the bytes round-trip exactly', async () => {
    const c = startChild('memory.mjs', [root, String(SIZE)], ['--expose-gc']);
    const r = await c.done;
    expect(r.code, r.stderr).toBe(0);
    const rep = lastJson<MemoryReport>(r);

    const growth = (p: Peak) => ({ rss: p.rss - rep.baseline.rss, arrayBuffers: p.arrayBuffers - rep.baseline.arrayBuffers });
    const mib = (n: number) => (n / MIB).toFixed(1);
    console.log(
      `memory (baseline rss ${mib(rep.baseline.rss)} MiB): ` +
        Object.entries(rep.peaks)
          .filter(([name]) => name !== 'idle')
          .map(([name, p]) => `${name} +${mib(growth(p).rss)} MiB rss, +${mib(growth(p).arrayBuffers)} MiB arrayBuffers in ${p.ms} ms`)
          .join('; '),
    );

    // The content is right: streamed in, published whole, read back whole.
    expect(rep.size).toBe(SIZE);
    expect(rep.expected.size).toBe(SIZE);
    expect(rep.publishedSize).toBe(SIZE);
    expect(rep.readBack).toEqual(rep.expected);
    expect(rep.put.info).toMatchObject(rep.put.expected);
    expect(rep.put.size).toBe(SIZE);
    expect(rep.gcExposed).toBe(true);

    for (const phase of ['moteWriter', 'moteReader', 'put-iterable']) {
      const p = rep.peaks[phase];
      expect(p, `no samples for ${phase}`).toBeDefined();
      // The sampler really ran during the phase (the measurement is not vacuous).
      expect(p!.samples, phase).toBeGreaterThan(20);
      const g = growth(p!);
      expect(g.rss, `${phase}: peak RSS growth ${mib(g.rss)} MiB`).toBeLessThan(LIMIT);
      expect(g.arrayBuffers, `${phase}: peak arrayBuffers growth ${mib(g.arrayBuffers)} MiB`).toBeLessThan(LIMIT);
    }

    // The child removed both gigabyte motes; nothing else was left behind.
    expect(rep.leftAfterRemove).toEqual([false, false]);
    expect(temporaries(root)).toEqual([]);
    expect(listFilesRecursive(path.join(root, 'blobs'))).toEqual([]);
  }, 120_000);
});
