import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DigestMismatchError, FileMoteCache, digestOf, type FileMoteCacheOptions, type MoteInfo } from '../../src/index.js';
import { CountingCache } from '../helpers/counting-cache.js';
import { deadPid, makeTempDir, randomData, readAll, temporaries } from '../helpers/tmp.js';

let scratch: { dir: string; cleanup: () => void };
const opened: FileMoteCache[] = [];
function open(name: string, options: FileMoteCacheOptions = {}): FileMoteCache {
  const c = new FileMoteCache(path.join(scratch.dir, name), { durable: false, ...options });
  opened.push(c);
  return c;
}
beforeEach(() => {
  scratch = makeTempDir('mote-verify-');
});
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
  scratch.cleanup();
});

/** Flips one byte of a published (read-only) blob in place, the way bit rot or a stray writer would. */
function corruptByte(file: string, offset: number): void {
  fs.chmodSync(file, 0o644);
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, offset);
    b[0] = b[0]! ^ 0xff;
    fs.writeSync(fd, b, 0, 1, offset);
  } finally {
    fs.closeSync(fd);
  }
  fs.chmodSync(file, 0o444);
}

function rewrite(file: string, change: (data: Buffer) => Buffer): void {
  fs.chmodSync(file, 0o644);
  fs.writeFileSync(file, change(fs.readFileSync(file)));
  fs.chmodSync(file, 0o444);
}

const tmpDir = (c: FileMoteCache): string => path.join(c.root, '.mote', 'tmp');

describe('verify()', () => {
  async function seed(c: FileMoteCache): Promise<MoteInfo[]> {
    const out: MoteInfo[] = [];
    for (const alg of ['sha256', 'sha512', 'blake3'] as const) {
      for (const size of [0, 1000, 200_000]) {
        const data = randomData(size);
        out.push(await c.put(data, { digest: digestOf(data, alg), mediaType: `x/${alg}` }));
      }
    }
    return out;
  }
  const sum = (ms: MoteInfo[]): number => ms.reduce((n, m) => n + m.size, 0);

  it('checks every mote of every algorithm and finds nothing wrong in a sound store', async () => {
    const c = open('cache');
    const motes = await seed(c);
    const inodes = motes.map((m) => fs.statSync(c.moteRef(m.digest)).ino);
    expect(await c.verify()).toEqual({ checked: motes.length, bytes: sum(motes), corrupt: [], sweptTemporaries: 0 });
    expect(motes.map((m) => fs.statSync(c.moteRef(m.digest)).ino)).toEqual(inodes);
  });

  it('reports a corrupt blob, evicts it, keeps the others, and counts checked/bytes exactly', async () => {
    const c = open('cache');
    const motes = await seed(c);
    const victim = motes.find((m) => m.size === 200_000 && m.digest.startsWith('blake3:'))!;
    corruptByte(c.moteRef(victim.digest), 123_456);
    const result = await c.verify();
    expect(result).toEqual({ checked: motes.length, bytes: sum(motes), corrupt: [victim.digest], sweptTemporaries: 0 });
    expect(fs.existsSync(c.moteRef(victim.digest))).toBe(false);
    expect(await c.moteExists(victim.digest)).toBe(false);
    expect(await c.find(victim.digest)).toBeUndefined();
    await expect(c.moteReader(victim.digest)).rejects.toMatchObject({ code: 'ERR_MOTE_NOT_FOUND' });
    for (const m of motes.filter((x) => x !== victim)) expect(await c.find(m.digest)).toEqual(m);
    // Nothing left to find: the second pass is clean and one mote shorter.
    const rest = motes.filter((m) => m !== victim);
    expect(await c.verify()).toEqual({ checked: rest.length, bytes: sum(rest), corrupt: [], sweptTemporaries: 0 });
    expect(await c.stats()).toEqual({ count: rest.length, bytes: sum(rest), partialBytes: 0 });
  });

  it('catches truncation, extension and corruption of several motes at once', async () => {
    const c = open('cache');
    const motes = await seed(c);
    const big = motes.filter((m) => m.size === 200_000);
    const [a, b, d] = [big[0]!, big[1]!, big[2]!];
    rewrite(c.moteRef(a.digest), (x) => x.subarray(0, x.length - 1000));
    rewrite(c.moteRef(b.digest), (x) => Buffer.concat([x, Buffer.from('appended')]));
    corruptByte(c.moteRef(d.digest), 0);
    const result = await c.verify();
    expect(result.checked).toBe(motes.length);
    // Re-hashed bytes are the bytes on disk: 1000 fewer, 8 more.
    expect(result.bytes).toBe(sum(motes) - 1000 + 8);
    expect(result.corrupt.sort()).toEqual([a.digest, b.digest, d.digest].sort());
    for (const m of [a, b, d]) expect(fs.existsSync(c.moteRef(m.digest))).toBe(false);
  });

  it('an evicted mote can be written again, with its media type', async () => {
    const c = open('cache');
    const data = randomData(5000);
    const info = await c.put(data, { mediaType: 'application/vnd.first' });
    corruptByte(c.moteRef(info.digest), 10);
    expect((await c.verify()).corrupt).toEqual([info.digest]);
    await c.put(data, { mediaType: 'application/vnd.second' });
    expect(await c.find(info.digest)).toEqual({ ...info, mediaType: 'application/vnd.second' });
    expect((await c.verify()).corrupt).toEqual([]);
  });

  it('reports progress with running totals', async () => {
    const c = open('cache');
    const motes = await seed(c);
    const seen: Array<{ checked: number; bytes: number; totalBytes: number }> = [];
    await c.verify({ onProgress: (p) => seen.push({ ...p }) });
    expect(seen).toHaveLength(motes.length);
    expect(seen.map((p) => p.checked)).toEqual(motes.map((_, i) => i + 1));
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.bytes).toBeGreaterThanOrEqual(seen[i - 1]!.bytes);
    expect(seen.at(-1)).toEqual({ checked: motes.length, bytes: sum(motes), totalBytes: sum(motes) });
  });

  it('an aborted verify rejects with ABORT_ERR and evicts nothing', async () => {
    const c = open('cache');
    const motes = await seed(c);
    corruptByte(c.moteRef(motes[4]!.digest), 0);
    await expect(c.verify({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORT_ERR' });
    expect(fs.existsSync(c.moteRef(motes[4]!.digest))).toBe(true);
  });
});

describe("verifyOnRead: 'always' with a fallback", () => {
  /** A primary whose copy of the mote is corrupt, and a fallback (counted) with the right bytes. */
  async function setup(options: FileMoteCacheOptions = {}, size = 300_000) {
    const fallbackStore = open('fallback');
    const fallback = new CountingCache(fallbackStore);
    const c = open('primary', { verifyOnRead: 'always', fallback, ...options });
    const data = randomData(size);
    const info = await fallbackStore.put(data, { mediaType: 'application/vnd.layer' });
    await c.put(data, { mediaType: 'application/vnd.layer' });
    corruptByte(c.moteRef(info.digest), Math.floor(size * 0.8));
    const bad = fs.readFileSync(c.moteRef(info.digest));
    return { c, fallback, data, digest: info.digest, badDigest: digestOf(bad) };
  }

  function expectMismatch(err: unknown, digest: string, actual: string): void {
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect(err).toMatchObject({ code: 'ERR_MOTE_DIGEST_MISMATCH', expected: digest, actual });
  }

  // 300,000 bytes are streamed from disk; 4,000 are read whole when the reader opens (SMALL_STREAM_LIMIT).
  for (const size of [300_000, 4_000]) it(`moteReader (${size} bytes): the read fails with DigestMismatchError, the mote is evicted, the next read comes from the fallback`, async () => {
    const { c, fallback, data, digest, badDigest } = await setup({}, size);
    const err = await readAll(await c.moteReader(digest)).catch((e: unknown) => e);
    expectMismatch(err, digest, badDigest);
    expect(fs.existsSync(c.moteRef(digest))).toBe(false);
    expect(fallback.calls.moteReader).toBe(0);
    expect((await readAll(await c.moteReader(digest))).equals(data)).toBe(true);
    expect(fallback.calls.moteReader).toBe(1);
    expect(fs.existsSync(c.moteRef(digest))).toBe(false); // not populating: served straight from the fallback
    expect(temporaries(c.root)).toEqual([]);
  });

  it('moteReaderAt: fails before serving a byte, evicts, then reads from the fallback', async () => {
    const { c, fallback, data, digest, badDigest } = await setup();
    expectMismatch(await c.moteReaderAt(digest).catch((e: unknown) => e), digest, badDigest);
    expect(fs.existsSync(c.moteRef(digest))).toBe(false);
    expect(temporaries(c.root)).toEqual([]);
    const r = await c.moteReaderAt(digest);
    const buf = Buffer.alloc(1000);
    expect(await r.read(buf, 0, 1000, 249_500)).toBe(1000);
    await r.close();
    expect(buf.equals(data.subarray(249_500, 250_500))).toBe(true);
    expect(fallback.calls.moteReaderAt).toBe(1);
  });

  it('get: fails, evicts, then reads from the fallback', async () => {
    const { c, fallback, data, digest, badDigest } = await setup();
    expectMismatch(await c.get(digest).catch((e: unknown) => e), digest, badDigest);
    expect(fs.existsSync(c.moteRef(digest))).toBe(false);
    expect((await c.get(digest)).equals(data)).toBe(true);
    expect(fallback.calls.moteReader).toBe(1);
  });

  it('with populateFromFallback the good copy is fetched once and stored again', async () => {
    const { c, fallback, data, digest, badDigest } = await setup({ populateFromFallback: true });
    expectMismatch(await readAll(await c.moteReader(digest)).catch((e: unknown) => e), digest, badDigest);
    expect(fs.existsSync(c.moteRef(digest))).toBe(false);
    expect((await readAll(await c.moteReader(digest))).equals(data)).toBe(true);
    expect(fallback.calls.moteReader).toBe(1);
    expect(digestOf(fs.readFileSync(c.moteRef(digest)))).toBe(digest);
    expect(await c.find(digest)).toEqual({ digest, size: data.length, mediaType: 'application/vnd.layer' });
    expect((await readAll(await c.moteReader(digest))).equals(data)).toBe(true);
    expect(fallback.calls.moteReader).toBe(1); // the third read is local
  });

  it("without a fallback the mote is gone after the failed read (MoteNotFoundError); 'never' serves the bytes as they are", async () => {
    const data = randomData(50_000);
    const strict = open('strict', { verifyOnRead: 'always' });
    const lax = open('lax', { verifyOnRead: 'never' });
    const d = (await strict.put(data)).digest;
    await lax.put(data);
    corruptByte(strict.moteRef(d), 7);
    corruptByte(lax.moteRef(d), 7);
    await expect(readAll(await strict.moteReader(d))).rejects.toBeInstanceOf(DigestMismatchError);
    await expect(strict.moteReader(d)).rejects.toMatchObject({ code: 'ERR_MOTE_NOT_FOUND' });
    const served = await readAll(await lax.moteReader(d));
    expect(served.equals(data)).toBe(false);
    expect(served.length).toBe(data.length);
    expect(fs.existsSync(lax.moteRef(d))).toBe(true);
  });
});

describe('stale temporaries', () => {
  it('are swept by initialize() and verify(); fresh ones are kept', async () => {
    // Ages come from the clock (ctime cannot be set back), so this test waits once, for both roots.
    const staleAfterMs = 1000;
    const forInit = open('init', { staleAfterMs });
    const forVerify = open('verify', { staleAfterMs });
    for (const c of [forInit, forVerify]) {
      await c.initialize();
      fs.writeFileSync(path.join(tmpDir(c), `${deadPid()}-aaaaaaaaaaaaaaaa.ingest`), 'abandoned by a killed writer');
      fs.mkdirSync(path.join(tmpDir(c), 'leftover-dir'));
      fs.writeFileSync(path.join(tmpDir(c), 'leftover-dir', 'x'), 'x');
    }
    await sleep(staleAfterMs + 150);
    for (const c of [forInit, forVerify]) fs.writeFileSync(path.join(tmpDir(c), '5678-bbbbbbbbbbbbbbbb.ingest'), 'a writer at work');
    await open('init', { staleAfterMs }).initialize();
    expect(temporaries(forInit.root)).toEqual(['5678-bbbbbbbbbbbbbbbb.ingest']);
    const result = await forVerify.verify();
    expect(result).toEqual({ checked: 0, bytes: 0, corrupt: [], sweptTemporaries: 2 });
    expect(temporaries(forVerify.root)).toEqual(['5678-bbbbbbbbbbbbbbbb.ingest']);
  });

  it('age is max(mtime, ctime): setting mtime back does not make a temporary stale', async () => {
    const c = open('cache', { staleAfterMs: 60_000 });
    await c.initialize();
    const name = `${deadPid()}-old-mtime.ingest`; // a dead owner: only its age can keep it
    const file = path.join(tmpDir(c), name);
    fs.writeFileSync(file, 'x');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(file, twoHoursAgo, twoHoursAgo);
    expect(Date.now() - fs.statSync(file).mtimeMs).toBeGreaterThan(3600_000);
    await c.initialize();
    expect((await c.verify()).sweptTemporaries).toBe(0);
    expect(temporaries(c.root)).toEqual([name]);
  });

  it('a temporary whose owner process is still running is kept whatever its age; a dead owner\'s is swept', async () => {
    const c = open('cache', { staleAfterMs: 0 });
    await c.initialize();
    const live = `${process.pid}-cccccccccccccccc.read`; // e.g. a read that has lasted longer than staleAfterMs
    const dead = `${deadPid()}-dddddddddddddddd.ingest`;
    fs.writeFileSync(path.join(tmpDir(c), live), 'x');
    fs.writeFileSync(path.join(tmpDir(c), dead), 'x');
    expect((await c.verify()).sweptTemporaries).toBe(1);
    expect(temporaries(c.root)).toEqual([live]);
  });

  it('a read link to an old blob is not swept while the read is in progress', async () => {
    const c = open('cache'); // default staleAfterMs: one hour
    const data = randomData(3 << 20);
    const { digest } = await c.put(data);
    const longAgo = new Date(Date.now() - 24 * 3600_000);
    fs.utimesSync(c.moteRef(digest), longAgo, longAgo);
    const r = await c.moteReader(digest);
    const [link] = temporaries(c.root);
    expect(link).toMatch(/\.read$/);
    expect(Date.now() - fs.statSync(path.join(tmpDir(c), link!)).mtimeMs).toBeGreaterThan(3600_000);
    await open('cache').initialize();
    expect((await c.verify()).sweptTemporaries).toBe(0);
    expect(temporaries(c.root)).toEqual([link]);
    expect((await readAll(r)).equals(data)).toBe(true);
    expect(temporaries(c.root)).toEqual([]);
  });
});
