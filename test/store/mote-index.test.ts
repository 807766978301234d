import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileMoteCache, digestOf, type MoteInfo } from '../../src/index.js';
import { makeTempDir, readAll, temporaries } from '../helpers/tmp.js';

const DEFAULT_MEDIA_TYPE = 'application/octet-stream';
const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

let scratch: { dir: string; cleanup: () => void };
let root: string;
const opened: FileMoteCache[] = [];
function open(options: ConstructorParameters<typeof FileMoteCache>[1] = {}): FileMoteCache {
  const c = new FileMoteCache(root, { durable: false, ...options });
  opened.push(c);
  return c;
}
beforeEach(() => {
  scratch = makeTempDir('mote-index-');
  root = path.join(scratch.dir, 'cache');
});
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
  scratch.cleanup();
});

const indexPath = (): string => path.join(root, '.mote', 'index.db');
const ALGS = ['sha256', 'sha512', 'blake3'] as const;

/** Deterministic motes of every algorithm, each with its own media type; the cache is closed afterwards. */
async function seed(count = 150): Promise<Array<MoteInfo & { data: Buffer }>> {
  const c = open();
  const out: Array<MoteInfo & { data: Buffer }> = [];
  for (let i = 0; i < count; i++) {
    const alg = ALGS[i % 3]!;
    const data = Buffer.from(`mote ${i} `.padEnd(20 + i, '.'));
    const info = await c.put(data, { digest: digestOf(data, alg), mediaType: `application/vnd.test.${i}+bytes` });
    out.push({ ...info, data });
  }
  for (const m of out) expect((await c.find(m.digest))?.mediaType).toBe(m.mediaType);
  await c.close();
  expect(fs.existsSync(indexPath())).toBe(true);
  return out;
}

async function listAll(c: FileMoteCache): Promise<MoteInfo[]> {
  const out: MoteInfo[] = [];
  for await (const m of c.list()) out.push(m);
  return out.sort((a, b) => a.digest.localeCompare(b.digest));
}

/** What must hold on a root whose index was lost: the blobs answer for presence, size and content. */
async function expectBlobsAreTheTruth(c: FileMoteCache, motes: Array<MoteInfo & { data: Buffer }>): Promise<void> {
  await c.initialize();
  for (const m of motes) {
    expect(await c.moteExists(m.digest)).toBe(true);
    // The media type was only in the index: it falls back to the default, the size comes from the blob.
    expect(await c.find(m.digest)).toEqual({ digest: m.digest, size: m.size, mediaType: DEFAULT_MEDIA_TYPE });
  }
  for (const m of motes.slice(0, 10)) {
    expect((await readAll(await c.moteReader(m.digest))).equals(m.data)).toBe(true);
    const r = await c.moteReaderAt(m.digest);
    const buf = Buffer.alloc(m.size);
    expect(await r.read(buf, 0, m.size, 0)).toBe(m.size);
    await r.close();
    expect(buf.equals(m.data)).toBe(true);
    expect((await c.get(m.digest)).equals(m.data)).toBe(true);
  }
  expect(await listAll(c)).toEqual(
    motes.map((m) => ({ digest: m.digest, size: m.size, mediaType: DEFAULT_MEDIA_TYPE })).sort((a, b) => a.digest.localeCompare(b.digest)),
  );
  expect(await c.stats()).toEqual({ count: motes.length, bytes: motes.reduce((n, m) => n + m.size, 0), partialBytes: 0 });
  expect(temporaries(root)).toEqual([]);
}

/** New writes are recorded in the rebuilt index, and survive a restart. */
async function expectWritesRecordedAgain(c: FileMoteCache, old: MoteInfo & { data: Buffer }): Promise<void> {
  const fresh = await c.put(Buffer.from(`written after the index was lost ${Math.random()}`), { mediaType: 'text/x-after' });
  expect(await c.find(fresh.digest)).toEqual({ ...fresh, mediaType: 'text/x-after' });
  // Re-putting an old mote with its media type restores it.
  await c.put(old.data, { digest: old.digest, mediaType: old.mediaType });
  expect((await c.find(old.digest))?.mediaType).toBe(old.mediaType);
  await c.close();
  const again = open();
  expect((await again.find(fresh.digest))?.mediaType).toBe('text/x-after');
  expect((await again.find(old.digest))?.mediaType).toBe(old.mediaType);
  // And the file is a sound SQLite database again.
  const db = new Database(indexPath(), { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  } finally {
    db.close();
  }
}

const movedAside = (): string[] => fs.readdirSync(path.dirname(indexPath())).filter((n) => n.startsWith('index.db.corrupt-'));

describe('the SQLite index is a rebuildable hint', () => {
  const damages: Array<[string, (file: string) => void, boolean]> = [
    ['deleted (with its -wal and -shm)', (f) => ['', '-wal', '-shm'].forEach((s) => fs.rmSync(f + s, { force: true })), false],
    ['deleted (the main file only)', (f) => fs.rmSync(f), false],
    ['overwritten with garbage of the same size', (f) => fs.writeFileSync(f, Buffer.alloc(fs.statSync(f).size, 0x5a)), true],
    ['overwritten with a short text', (f) => fs.writeFileSync(f, 'this is not a database\n'), true],
    ['truncated to 0 bytes', (f) => fs.truncateSync(f, 0), false],
    ['truncated to 100 bytes (inside the header)', (f) => fs.truncateSync(f, 100), true],
    ['truncated to half its size', (f) => fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2 / 4096) * 4096), true],
  ];
  for (const [label, damage, corrupt] of damages) {
    it(`${label}: the cache reopens, serves every mote, and records new writes`, async () => {
      const motes = await seed();
      damage(indexPath());
      const c = open();
      await expectBlobsAreTheTruth(c, motes);
      // A damaged file is moved aside for a post-mortem instead of being deleted.
      expect(movedAside().length).toBe(corrupt ? 1 : 0);
      await expectWritesRecordedAgain(c, motes[7]!);
    });
  }

  it('deleted while a -wal left by a killed process remains: stale log is ignored, nothing crashes', async () => {
    const motes = await seed(30);
    // A process that writes and exits without closing the index leaves index.db-wal behind.
    const script = `import { FileMoteCache } from ${JSON.stringify(DIST)};
      const c = new FileMoteCache(process.argv[1], { durable: false });
      for (let i = 0; i < 200; i++) await c.put(Buffer.from('child ' + i), { mediaType: 'text/child' });
      process.exit(0);`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script, root]);
    expect(fs.statSync(`${indexPath()}-wal`).size).toBeGreaterThan(0);
    fs.rmSync(indexPath());
    const c = open();
    await c.initialize();
    for (const m of motes) expect(await c.find(m.digest)).toMatchObject({ digest: m.digest, size: m.size });
    const child = digestOf('child 5');
    expect((await c.get(child)).toString()).toBe('child 5');
    expect((await c.stats()).count).toBe(motes.length + 200);
    expect((await c.prune(0)).removed).toBe(motes.length + 200);
    await expectWritesRecordedAgain(c, motes[3]!);
  });

  it('a prune after the index was lost works and the index records its removals', async () => {
    const motes = await seed(30);
    fs.rmSync(indexPath());
    const c = open();
    const total = motes.reduce((n, m) => n + m.size, 0);
    const result = await c.prune(0);
    expect(result).toMatchObject({ removed: motes.length, freedBytes: total, remainingBytes: 0 });
    for (const m of motes) expect(await c.moteExists(m.digest)).toBe(false);
  });

  it('presence comes from the blobs: an index row without a blob is not a mote, a blob without a row is', async () => {
    const c = open();
    const gone = await c.put(Buffer.from('removed behind the cache'), { mediaType: 'text/gone' });
    const kept = await c.put(Buffer.from('still here'), { mediaType: 'text/kept' });
    fs.rmSync(c.moteRef(gone.digest)); // a user deletes a blob file; its row stays in the index
    expect(await c.moteExists(gone.digest)).toBe(false);
    expect(await c.find(gone.digest)).toBeUndefined();
    await expect(c.moteReader(gone.digest)).rejects.toMatchObject({ code: 'ERR_MOTE_NOT_FOUND' });
    // Another tool drops a blob into the layout: no row, but a mote.
    const foreign = Buffer.from('written by another OCI tool');
    const fd = digestOf(foreign);
    fs.writeFileSync(c.moteRef(fd), foreign);
    expect(await c.find(fd)).toEqual({ digest: fd, size: foreign.length, mediaType: DEFAULT_MEDIA_TYPE });
    expect((await c.get(fd)).equals(foreign)).toBe(true);
    expect((await listAll(c)).map((m) => m.digest).sort()).toEqual([kept.digest, fd].sort());
    expect(await c.stats()).toEqual({ count: 2, bytes: kept.size + foreign.length, partialBytes: 0 });
  });

  it('a later write without a media type keeps the known one', async () => {
    const c = open();
    const data = Buffer.from('typed once');
    const first = await c.put(data, { mediaType: 'application/vnd.oci.image.config.v1+json' });
    await c.put(data);
    const src = path.join(scratch.dir, 'src');
    fs.writeFileSync(src, data);
    await c.commitMote(src, { digest: first.digest, size: data.length, mediaType: '' }, 'copy');
    expect((await c.find(first.digest))?.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    await c.put(data, { mediaType: 'application/vnd.changed' });
    expect((await c.find(first.digest))?.mediaType).toBe('application/vnd.changed');
  });
});

describe('damage inside the index that the open-time check does not see', () => {
  it('reads still work and fall back to the default media type for unreadable rows', async () => {
    const motes = await seed(300);
    corruptCells(indexPath());
    const c = open();
    await c.initialize();
    let unreadable = 0;
    for (const m of motes) {
      expect(await c.moteExists(m.digest)).toBe(true);
      const found = await c.find(m.digest);
      expect(found).toMatchObject({ digest: m.digest, size: m.size });
      expect([m.mediaType, DEFAULT_MEDIA_TYPE]).toContain(found?.mediaType);
      if (found?.mediaType === DEFAULT_MEDIA_TYPE) unreadable++;
    }
    expect(unreadable, 'the damage must hit some rows for this test to mean anything').toBeGreaterThan(0);
    expect((await readAll(await c.moteReader(motes[0]!.digest))).equals(motes[0]!.data)).toBe(true);
    expect((await listAll(c)).length).toBe(motes.length);
  });

  // Opening only runs `SELECT count(*)`, which does not decode cells, so a page whose cell bytes are garbage
  // passes; the first query that reads it (prune's ctx.index.all()) must heal the index, not fail for good.
  it('prune() still works: the index heals on the first corrupt read', async () => {
    const motes = await seed(300);
    corruptCells(indexPath());
    const c = open();
    const result = await c.prune(0);
    expect(result.removed).toBe(motes.length);
  });
});

/** Garbage over the cell area of the third page (page size 4096), leaving the page headers intact. */
function corruptCells(file: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, Buffer.alloc(2000, 0x5a), 0, 2000, 2 * 4096 + 1500);
  } finally {
    fs.closeSync(fd);
  }
}

describe('an index that cannot be opened at all', () => {
  it('(.mote/index.db is a directory) initialize, reads, writes and prune still work, by mtime, with a warning', async () => {
    const motes = await seed(30);
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(indexPath() + suffix, { force: true });
    fs.mkdirSync(indexPath());
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }): void => void (w.code === 'MOTECACHE_INDEX' && warnings.push(w.message));
    process.on('warning', onWarning);
    try {
      const c = open();
      await c.initialize();
      expect(await c.find(motes[0]!.digest)).toEqual({ digest: motes[0]!.digest, size: motes[0]!.size, mediaType: DEFAULT_MEDIA_TYPE });
      const extra = await c.put(Buffer.from('written without an index'));
      expect((await c.get(extra.digest)).toString()).toBe('written without an index');
      const before = await c.stats();
      const result = await c.prune(0);
      expect(result).toMatchObject({ removed: before.count, freedBytes: before.bytes, remainingBytes: 0 });
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      expect(warnings.length).toBeGreaterThan(0);
      expect(warnings[0]).toMatch(/cannot be opened/);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
