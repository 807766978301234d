import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import {
  CacheUnavailableError,
  MemoryBlobInfoCache,
  SqliteBlobInfoCache,
  openBlobInfoCache,
  type BlobInfoCache,
} from '../../src/index.js';
import { blobInfoCacheConformance } from '../conformance/blobinfo-cache.js';
import { makeTempDir } from '../helpers/tmp.js';
import { killLiveChildren, lastJson, sendGo, startChild } from '../helpers/children.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;

blobInfoCacheConformance('MemoryBlobInfoCache', async () => ({ cache: new MemoryBlobInfoCache(), cleanup: async () => {} }));

blobInfoCacheConformance('SqliteBlobInfoCache', async () => {
  const tmp = makeTempDir('motecache-bic-');
  const cache = new SqliteBlobInfoCache(path.join(tmp.dir, 'bic.db'));
  return {
    cache,
    cleanup: async () => {
      await cache.close();
      tmp.cleanup();
    },
  };
});

blobInfoCacheConformance('openBlobInfoCache(path), durable: false', async () => {
  const tmp = makeTempDir('motecache-bic-');
  const cache = openBlobInfoCache(path.join(tmp.dir, 'bic.db'), { durable: false });
  return {
    cache,
    cleanup: async () => {
      await cache.close();
      tmp.cleanup();
    },
  };
});

describe('openBlobInfoCache', () => {
  it("gives the memory backend for '' and no path (the original's NewCache(''))", async () => {
    expect(openBlobInfoCache('')).toBeInstanceOf(MemoryBlobInfoCache);
    expect(openBlobInfoCache()).toBeInstanceOf(MemoryBlobInfoCache);
  });
  it('gives SQLite otherwise', async () => {
    const tmp = makeTempDir('motecache-bic-');
    const c = openBlobInfoCache(path.join(tmp.dir, 'x.db'));
    expect(c).toBeInstanceOf(SqliteBlobInfoCache);
    await c.close();
    tmp.cleanup();
  });
});

describe('SqliteBlobInfoCache on disk', () => {
  let tmp: { dir: string; cleanup: () => void };
  let file: string;
  const open: BlobInfoCache[] = [];
  const make = (f = file) => {
    const c = new SqliteBlobInfoCache(f);
    open.push(c);
    return c;
  };
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.message);
  beforeEach(() => {
    tmp = makeTempDir('motecache-bic-');
    file = path.join(tmp.dir, 'blobinfo.db');
    warnings.length = 0;
    process.on('warning', onWarning);
  });
  afterEach(async () => {
    process.off('warning', onWarning);
    for (const c of open.splice(0)) await c.close();
    tmp.cleanup();
  });
  afterAll(() => killLiveChildren());

  it('persists across reopen, with times and order intact', async () => {
    const a = make();
    await a.recordDigestUntransformedPair(D('3'), D('2'));
    await a.recordDigestTransformerName(D('3'), 'gzip');
    await a.recordKnownLocation('oci', 'Layer', D('3'), 'old');
    await a.recordKnownLocation('oci', 'Layer', D('3'), 'new');
    await a.recordKnownLocation('oci', 'Layer', D('2'), 'plain');
    const before = await a.candidateLocations('oci', 'Layer', D('3'), { canSubstitute: true });
    await a.close();
    const b = make();
    expect(await b.untransformedDigest(D('3'))).toBe(D('2'));
    const after = await b.candidateLocations('oci', 'Layer', D('3'), { canSubstitute: true });
    expect(after).toEqual(before);
    expect(after.map((c) => [c.location, c.transformerName])).toEqual([
      ['new', 'gzip'],
      ['old', 'gzip'],
      ['plain', 'unknown'],
    ]);
  });

  it('writes not awaited before close are committed by close', async () => {
    const a = make();
    void a.recordKnownLocation('oci', 's', D('a'), 'pending');
    await a.close();
    expect(await make().candidateLocations('oci', 's', D('a'), { canSubstitute: false })).toHaveLength(1);
  });

  it('two instances on one file see each other', async () => {
    const a = make();
    const b = make();
    await a.recordKnownLocation('oci', 's', D('a'), 'from-a');
    await b.recordKnownLocation('oci', 's', D('a'), 'from-b');
    expect((await a.candidateLocations('oci', 's', D('a'), { canSubstitute: false })).map((c) => c.location)).toEqual(['from-b', 'from-a']);
  });

  it('two processes writing one file: nothing lost, no error', async () => {
    const count = 300;
    const shared = D('a');
    const children = [0, 1].map((index) =>
      startChild('bic-writer.mjs', [JSON.stringify({ file, index, count, shared, own: D(String(index + 1)) })]),
    );
    await Promise.all(children.map((c) => c.waitForLine('ready')));
    for (const c of children) sendGo(c);
    const results = await Promise.all(children.map(async (c) => lastJson<{ errors: unknown[]; written: number }>(await c.done)));
    for (const r of results) expect(r.errors).toEqual([]);
    const bic = make();
    const sharedLocs = await bic.candidateLocations('oci', 'Layer', shared, { canSubstitute: false });
    expect(sharedLocs).toHaveLength(2 * count + 1); // each writer's own + the one both re-recorded
    for (const i of [0, 1]) {
      expect(await bic.candidateLocations('oci', 'Layer', D(String(i + 1)), { canSubstitute: false })).toHaveLength(count);
      expect(await bic.untransformedDigest(D(String(i + 1)))).toBe(shared);
    }
    // Each writer's own locations are newest first, in the order it wrote them.
    const w0 = sharedLocs.map((c) => c.location).filter((l) => l.startsWith('w0/'));
    expect(w0[0]).toBe(`w0/loc${count - 1}`);
    expect(w0[w0.length - 1]).toBe('w0/loc0');
  }, 30_000);

  it('a file that is not SQLite is moved aside and rebuilt, with a warning', async () => {
    fs.writeFileSync(file, Buffer.alloc(8192, 'garbage! '));
    const c = make();
    await c.recordKnownLocation('oci', 's', D('a'), 'x');
    expect(await c.candidateLocations('oci', 's', D('a'), { canSubstitute: false })).toHaveLength(1);
    const aside = fs.readdirSync(tmp.dir).filter((n) => n.startsWith('blobinfo.db.corrupt-'));
    expect(aside.length).toBeGreaterThan(0);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    expect(warnings.some((w) => /moved to .*rebuilt/.test(w))).toBe(true);
  });

  it('a file damaged while open heals on the next call (no crash)', async () => {
    const a = make();
    const many = Array.from({ length: 2000 }, (_, i) => ({ transport: 'oci', scope: 's', digest: D('a'), location: `loc-${i}-${'x'.repeat(40)}` }));
    await a.recordKnownLocations(many);
    await a.close();
    // Scribble over every page after the header page.
    const fd = fs.openSync(file, 'r+');
    const size = fs.fstatSync(fd).size;
    for (let off = 4096; off < size; off += 4096) fs.writeSync(fd, Buffer.alloc(512, 0xa5), 0, 512, off + 100);
    fs.closeSync(fd);
    const b = make();
    // Either answer (empty after a rebuild) is fine; a crash or an untyped error is not.
    const got = await b.candidateLocations('oci', 's', D('a'), { canSubstitute: false });
    expect(Array.isArray(got)).toBe(true);
    await b.recordKnownLocation('oci', 's', D('b'), 'after');
    expect(await b.candidateLocations('oci', 's', D('b'), { canSubstitute: false })).toHaveLength(1);
  });

  it("another application's SQLite database is left untouched: CacheUnavailableError", async () => {
    const other = new Database(file);
    other.exec("CREATE TABLE important (x TEXT); INSERT INTO important VALUES ('keep me')");
    other.close();
    const before = fs.readFileSync(file);
    expect(() => make()).toThrow(CacheUnavailableError);
    // Untouched means byte for byte: no journal-mode switch in the header, no WAL file beside it.
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const again = new Database(file);
    expect(again.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(again.prepare('SELECT x FROM important').pluck().get()).toBe('keep me');
    again.close();
  });

  it('a path that cannot be a database (a directory, a missing parent) gives CacheUnavailableError', () => {
    fs.mkdirSync(file);
    expect(() => make()).toThrow(CacheUnavailableError);
    expect(() => make(path.join(tmp.dir, 'no', 'such', 'dir', 'x.db'))).toThrow(CacheUnavailableError);
  });

  it('a newer schema version is refused, not clobbered', async () => {
    const a = make();
    await a.close();
    const raw = new Database(file);
    raw.pragma('user_version = 99');
    raw.close();
    expect(() => make()).toThrow(/newer/);
  });

  it('a lock held past the busy timeout gives CacheUnavailableError', async () => {
    const a = make();
    await a.recordKnownLocation('oci', 's', D('a'), 'x');
    const locker = new Database(file);
    locker.exec('BEGIN IMMEDIATE');
    try {
      const b = new SqliteBlobInfoCache(file, { busyTimeoutMs: 200 });
      open.push(b);
      await expect(b.recordKnownLocation('oci', 's', D('a'), 'y')).rejects.toBeInstanceOf(CacheUnavailableError);
      // Reads are not blocked by a writer in WAL mode.
      expect(await b.candidateLocations('oci', 's', D('a'), { canSubstitute: false })).toHaveLength(1);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
  });
});
