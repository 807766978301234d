/**
 * Several processes on ONE cache root at once: four writers writing the same motes (moteWriter after createMote,
 * put of a buffer, put of a stream) plus motes of their own, two readers (with and without link-on-read) checking
 * every byte they get, and a pruner pruning to a budget in a loop. Children run test/children/mp-*.mjs against
 * the built package and report JSON on stdout; this file asserts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileMoteCache, digestOf } from '../../../src/index.js';
import { killLiveChildren, lastJson, listFilesRecursive, sendGo, startChild, type ChildResult, type RunningChild } from '../../helpers/children.js';
import { makeTempDir, randomData, temporaries } from '../../helpers/tmp.js';

interface ErrorReport {
  digest?: string;
  method?: string;
  name?: string;
  code?: string;
  message: string;
}
interface WriterReport {
  index: number;
  writes: number;
  byMethod: Record<'moteWriter' | 'put-buffer' | 'put-stream', number>;
  errors: ErrorReport[];
  distinct: Array<{ digest: string; size: number }>;
}
interface ReaderReport {
  reads: number;
  hits: number;
  hitsAt: number;
  notFound: number;
  bad: unknown[];
  errors: ErrorReport[];
}
interface PrunerReport {
  runs: number;
  removed: number;
  freedBytes: number;
  errors: ErrorReport[];
}

const WRITERS = 4;
const ROUNDS = 3;
const DISTINCT_PER_ROUND = 4;
/** Shared motes: edge sizes (empty, one byte, around 64 KiB chunk boundaries) up to a few MiB. */
const SHARED_SIZES = [0, 1, 4095, 65_536, 65_537, 100_003, 250_000, 512 * 1024, 777_777, 1 << 20, (1 << 20) + 7, 1_500_000, 2 << 20, 3 * (1 << 20) + 1];
const MIB = 1 << 20;
const PRUNE_BUDGET = 4 * MIB;

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('several processes share one root', () => {
  let scratch: { dir: string; cleanup: () => void };
  beforeAll(() => {
    scratch = makeTempDir('motecache-mp-');
  });
  afterAll(() => {
    killLiveChildren();
    scratch.cleanup();
  });

  it('concurrent writers, readers and a pruner: all writes succeed, reads are whole or not found, nothing leaks', async () => {
    const root = path.join(scratch.dir, 'cache');
    const srcDir = path.join(scratch.dir, 'src');
    fs.mkdirSync(srcDir);
    const manifest = SHARED_SIZES.map((size, i) => {
      const data = randomData(size);
      const p = path.join(srcDir, `${i}.bin`);
      fs.writeFileSync(p, data);
      return { digest: sha256(data), size, mediaType: `application/vnd.test.shared.${i}`, path: p };
    });
    expect(new Set(manifest.map((m) => m.digest)).size).toBe(manifest.length);
    const manifestPath = path.join(scratch.dir, 'manifest.json');
    fs.writeFileSync(manifestPath, JSON.stringify(manifest));
    const stopFile = path.join(scratch.dir, 'stop');

    const writers: RunningChild[] = [];
    for (let index = 0; index < WRITERS; index++) {
      const cfg = { root, manifest: manifestPath, index, rounds: ROUNDS, durable: index % 2 === 0, distinct: DISTINCT_PER_ROUND };
      writers.push(startChild('mp-writer.mjs', [JSON.stringify(cfg)]));
    }
    const readers = [true, false].map((linkOnRead) =>
      startChild('mp-reader.mjs', [JSON.stringify({ root, manifest: manifestPath, stopFile, linkOnRead })]),
    );
    const pruner = startChild('mp-pruner.mjs', [JSON.stringify({ root, stopFile, budget: PRUNE_BUDGET })]);
    const all = [...writers, ...readers, pruner];

    let writerResults: ChildResult[];
    let otherResults: ChildResult[];
    try {
      // Everyone has initialized the root (concurrently) and loaded its data: start together.
      await Promise.all(all.map((c) => c.waitForLine('READY')));
      for (const c of all) sendGo(c);
      writerResults = await Promise.all(writers.map((w) => w.done));
      // Let readers and the pruner keep racing a little on the final state, then stop them.
      await new Promise((r) => setTimeout(r, 300));
      fs.writeFileSync(stopFile, '');
      otherResults = await Promise.all([...readers, pruner].map((c) => c.done));
    } finally {
      fs.writeFileSync(stopFile, '');
    }

    // Every process exited cleanly.
    for (const r of [...writerResults, ...otherResults]) {
      expect(r.code, r.stderr).toBe(0);
    }

    // Every writer succeeded with every write, by every method.
    const writerReports = writerResults.map((r) => lastJson<WriterReport>(r));
    const expectedWrites = ROUNDS * (SHARED_SIZES.length + DISTINCT_PER_ROUND);
    for (const w of writerReports) {
      expect(w.errors).toEqual([]);
      expect(w.writes).toBe(expectedWrites);
      expect(w.byMethod.moteWriter).toBeGreaterThan(0);
      expect(w.byMethod['put-buffer']).toBeGreaterThan(0);
      expect(w.byMethod['put-stream']).toBeGreaterThan(0);
    }

    const readerReports = otherResults.slice(0, readers.length).map((r) => lastJson<ReaderReport>(r));
    const prunerReport = lastJson<PrunerReport>(otherResults[readers.length]!);
    console.log(
      `multiprocess: writers ${writerReports.map((w) => w.writes).join('/')} writes; readers ${readerReports
        .map((r) => `${r.hits}+${r.hitsAt} hits, ${r.notFound} not found`)
        .join('; ')}; pruner ${prunerReport.runs} runs removed ${prunerReport.removed}`,
    );

    // Readers never saw partial or wrong bytes, and did see real content (not only misses).
    for (const r of readerReports) {
      expect(r.bad).toEqual([]);
      expect(r.errors).toEqual([]);
      expect(r.reads).toBe(r.hits + r.hitsAt + r.notFound);
      expect(r.hits + r.hitsAt).toBeGreaterThan(0);
    }

    // The pruner ran repeatedly, without errors, and actually removed motes while the others worked.
    expect(prunerReport.errors).toEqual([]);
    expect(prunerReport.runs).toBeGreaterThan(1);
    expect(prunerReport.removed).toBeGreaterThan(0);

    // No temporaries left: no ingest files, no private read links.
    expect(temporaries(root)).toEqual([]);
    // The prune lock was released.
    expect(fs.existsSync(path.join(root, '.mote', 'prune.lock'))).toBe(false);

    // Exactly one published copy per digest: the only files in the root are the layout's own, the index, and
    // blobs named by the digest of a mote somebody wrote; each blob is a single read-only link whose bytes
    // hash to its name.
    const known = new Map<string, number>(manifest.map((m) => [m.digest, m.size]));
    for (const w of writerReports) for (const d of w.distinct) known.set(d.digest, d.size);
    const files = listFilesRecursive(root);
    const blobs: string[] = [];
    for (const f of files) {
      if (f.startsWith(`blobs${path.sep}`)) {
        blobs.push(f);
        continue;
      }
      expect(f).toMatch(/^(oci-layout|index\.json|CACHEDIR\.TAG|\.mote\/index\.db(-wal|-shm)?)$/);
    }
    const digestsOnDisk = new Set<string>();
    for (const b of blobs) {
      const m = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(b);
      expect(m, `unexpected file ${b}`).not.toBeNull();
      const digest = `sha256:${m![1]}`;
      expect(known.has(digest), `published ${digest} that nobody wrote`).toBe(true);
      expect(digestsOnDisk.has(digest)).toBe(false);
      digestsOnDisk.add(digest);
      const full = path.join(root, b);
      const st = fs.statSync(full);
      expect(st.nlink).toBe(1);
      expect(st.mode & 0o222).toBe(0);
      expect(st.size).toBe(known.get(digest));
      expect(sha256(fs.readFileSync(full))).toBe(digest);
    }

    // The final state is consistent: verify() re-hashes everything and finds nothing corrupt.
    const cache = new FileMoteCache(root);
    try {
      const stats = await cache.stats();
      expect(stats.count).toBe(digestsOnDisk.size);
      const v = await cache.verify();
      expect(v.corrupt).toEqual([]);
      expect(v.checked).toBe(digestsOnDisk.size);
      // And the store still works: every shared mote can be written again and read back whole.
      for (const m of manifest) {
        await cache.put(fs.readFileSync(m.path), { digest: m.digest });
        expect(sha256(await cache.get(m.digest))).toBe(m.digest);
      }
    } finally {
      await cache.close();
    }
  });

  // BUG (the #pending map, now src/store/file/announcements.ts): createMote() registrations are kept in a Map keyed by digest, and the
  // first writer of a digest to finish deletes the entry. A second caller that also called createMote() for that
  // digest then only gets a writer while the blob is still on disk; if another process pruned or removed it in
  // between, moteWriter() rejects with MoteNotFoundError ("no createMote() for this digest") although createMote()
  // was called. The contract says several writers of one digest, in one or several processes, all succeed.
  it('two callers in one process announce the same mote; another process prunes after the first finishes; the second can still write', async () => {
    const root = path.join(scratch.dir, 'pending-cache');
    const here = new FileMoteCache(root, { durable: false });
    const elsewhere = new FileMoteCache(root, { durable: false }); // stands in for another process on the root
    try {
      const data = randomData(1000);
      const d = digestOf(data);
      await here.createMote(d, 'application/vnd.test', data.length); // caller 1
      await here.createMote(d, 'application/vnd.test', data.length); // caller 2
      await pipeline(Readable.from([data]), await here.moteWriter(d)); // caller 1 writes and finishes
      expect((await elsewhere.prune(0)).removed).toBe(1);
      await pipeline(Readable.from([data]), await here.moteWriter(d)); // caller 2 still has its announcement
      expect(await here.moteExists(d)).toBe(true);
    } finally {
      await here.close();
      await elsewhere.close();
    }
  });
});
