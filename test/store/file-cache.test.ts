// FileMoteCache: the conformance suites (test/conformance/) in every configuration (linkOnRead, durable, with a
// fallback or populating from it, verifyOnRead), then its behaviour beyond them: descriptor ownership under
// destroy, commitMote edge cases (symlinks, hard links, the blob itself), prune failing mid-way, reader-at close,
// option checks. Faults a real filesystem will not produce on demand (a slow fsync, an EIO from unlink) are
// injected by wrapping node:fs functions for the duration of one test: named as such below.
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommitMode, FileMoteCache, InvalidArgumentError, InvalidDigestError, MoteNotFoundError, PullThroughCache, digestOf, type FileMoteCacheOptions } from '../../src/index.js';
import { moteCacheConformance } from '../conformance/mote-cache.js';
import { moteProviderConformance } from '../conformance/mote-provider.js';
import { BAD_DIGESTS } from '../helpers/bad-digests.js';
import { fileHarness } from '../helpers/file-harness.js';
import { deadPid, makeTempDir, randomData, temporaries } from '../helpers/tmp.js';

for (const linkOnRead of [true, false]) {
  for (const durable of [true, false]) {
    for (const fallback of ['none', 'fallback', 'populate'] as const) {
      const name = `FileMoteCache linkOnRead=${linkOnRead} durable=${durable} fallback=${fallback}`;
      moteCacheConformance(name, fileHarness({ linkOnRead, durable }, fallback), {
        keepsContent: true,
        populatesFromFallback: fallback === 'populate',
      });
    }
  }
}

moteCacheConformance('FileMoteCache verifyOnRead=always', fileHarness({ verifyOnRead: 'always', durable: false }, 'populate'), {
  keepsContent: true,
  populatesFromFallback: true,
});

moteProviderConformance('FileMoteCache', async (scratch) => {
  const cache = new FileMoteCache(path.join(scratch, 'cache'), { durable: false });
  return { provider: cache, seed: async (data) => (await cache.put(data)).digest, cleanup: () => cache.close() };
});

let scratch: { dir: string; cleanup: () => void };
let root: string;
const opened: FileMoteCache[] = [];
function open(options: FileMoteCacheOptions = {}): FileMoteCache {
  const c = new FileMoteCache(root, { durable: false, ...options });
  opened.push(c);
  return c;
}
beforeEach(() => {
  scratch = makeTempDir('mote-filecache-');
  root = path.join(scratch.dir, 'cache');
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of opened.splice(0)) await c.close();
  scratch.cleanup();
});

describe('moteWriter destroyed while its fsync is in flight (fault injected: a slow fsync)', () => {
  it('never closes a descriptor it no longer owns, publishes nothing, leaves no temporary', async () => {
    const realFsync = fs.fsync;
    let fsyncStarted!: () => void;
    const started = new Promise<void>((resolve) => (fsyncStarted = resolve));
    vi.spyOn(fs, 'fsync').mockImplementation(((fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      fsyncStarted();
      setTimeout(() => realFsync(fd, cb), 100);
    }) as typeof fs.fsync);
    const c = open({ durable: true });
    const data = randomData(50_000);
    const d = digestOf(data);
    await c.createMote(d, 'x/y', data.length);
    const w = await c.moteWriter(d);
    const closed = new Promise((resolve) => w.once('close', resolve));
    w.on('error', () => undefined);
    w.end(data);
    await started;
    w.destroy(new Error('client went away'));
    // The descriptor the writer held is free only once its fsync is back; one opened now must stay ours.
    const probe = path.join(scratch.dir, 'probe');
    fs.writeFileSync(probe, 'mine');
    const fd = fs.openSync(probe, 'r');
    try {
      await closed;
      await sleep(150);
      expect(fs.fstatSync(fd).size).toBe(4); // still open: nobody closed it under us
    } finally {
      fs.closeSync(fd);
    }
    expect(fs.existsSync(c.moteRef(d))).toBe(false);
    expect(temporaries(root)).toEqual([]);
  });
});

describe('commitMote edge cases', () => {
  it("'move' of a symlink publishes a regular read-only copy; the link's target is untouched and cannot change the blob", async () => {
    const c = open();
    const data = Buffer.from('the real content');
    const target = path.join(scratch.dir, 'target');
    fs.writeFileSync(target, data, { mode: 0o644 });
    const link = path.join(scratch.dir, 'link');
    fs.symlinkSync(target, link);
    const d = digestOf(data);
    await c.commitMote(link, { digest: d, size: data.length, mediaType: 'x/y' }, CommitMode.Move);
    const st = fs.lstatSync(c.moteRef(d));
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o222).toBe(0);
    expect(fs.existsSync(link)).toBe(false); // the name handed over is gone
    expect(fs.statSync(target).mode & 0o777).toBe(0o644); // the target kept its mode
    fs.writeFileSync(target, 'tampered');
    expect((await c.get(d)).equals(data)).toBe(true);
    expect((await c.verify()).checked).toBe(1);
  });

  it("'move' of a hard-linked file copies it: the other name cannot change the published blob", async () => {
    const c = open();
    const data = Buffer.from('linked content');
    const src = path.join(scratch.dir, 'src');
    const other = path.join(scratch.dir, 'other');
    fs.writeFileSync(src, data);
    fs.linkSync(src, other);
    const d = digestOf(data);
    await c.commitMote(src, { digest: d, size: data.length, mediaType: 'x/y' }, CommitMode.Move);
    expect(fs.existsSync(src)).toBe(false);
    expect(fs.statSync(c.moteRef(d)).nlink).toBe(1);
    expect(fs.statSync(c.moteRef(d)).ino).not.toBe(fs.statSync(other).ino);
    fs.writeFileSync(other, 'tampered!!!!!!');
    expect((await c.get(d)).equals(data)).toBe(true);
  });

  for (const mode of [CommitMode.Copy, CommitMode.Move]) {
    it(`'${mode}' of the blob itself (moteRef) keeps the mote`, async () => {
      const c = open();
      const info = await c.put(Buffer.from('already here'), { mediaType: 'x/y' });
      await c.commitMote(c.moteRef(info.digest), info, mode);
      expect(await c.moteExists(info.digest)).toBe(true);
      expect((await c.get(info.digest)).toString()).toBe('already here');
    });
  }
});

describe('media types', () => {
  const BAD: Array<[string, unknown]> = [
    ['a newline', 'application/json\nx-injected: 1'],
    ['a CR LF', 'text/plain\r\n'],
    ['a NUL', 'a/b\0'],
    ['a tab', 'a/\tb'],
    ['non-ASCII', 'application/vnd.é'],
    ['1 MB', 'a/' + 'b'.repeat(1 << 20)],
    ['256 characters', 'a/' + 'b'.repeat(254)],
    ['not a string', 42],
  ];
  for (const [what, mediaType] of BAD) {
    it(`${what}: createMote, put (both paths) and commitMote reject it with InvalidArgumentError and write nothing`, async () => {
      const c = open();
      const data = Buffer.from('media type test');
      const d = digestOf(data);
      const file = path.join(scratch.dir, 'src');
      fs.writeFileSync(file, data);
      const mt = mediaType as string;
      for (const call of [
        () => c.createMote(d, mt, data.length),
        () => c.put(data, { mediaType: mt }),
        () => c.put(Readable.from([data]), { mediaType: mt }),
        () => c.commitMote(file, { digest: d, size: data.length, mediaType: mt }, CommitMode.Copy),
        () => c.commitMote(file, { digest: d, size: data.length, mediaType: mt }, CommitMode.Move),
      ]) {
        await expect(call()).rejects.toBeInstanceOf(InvalidArgumentError);
      }
      expect(fs.existsSync(root)).toBe(false); // rejected before the store touched the disk
      expect(fs.readFileSync(file).equals(data)).toBe(true);
    });
  }

  it('what users store is kept: OCI types, parameters, short private names, 255 characters; empty means the default', async () => {
    const c = open();
    const kept = ['application/vnd.oci.image.layer.v1.tar+gzip', 'text/plain; charset=utf-8', 'x', 'a/' + 'b'.repeat(253)];
    for (const mediaType of kept) {
      const data = randomData(100);
      expect((await c.put(data, { mediaType })).mediaType).toBe(mediaType);
      expect((await c.find(digestOf(data)))?.mediaType).toBe(mediaType);
    }
    const data = randomData(100);
    expect((await c.put(data, { mediaType: '' })).mediaType).toBe('application/octet-stream');
    expect((await c.createMote(digestOf(data), '', 100)).mediaType).toBe('application/octet-stream');
  });
});

describe('moteWriter needs createMote', () => {
  it('rejects with MoteNotFoundError without one, even when the mote is already stored', async () => {
    const c = open();
    const info = await c.put(Buffer.from('stored'));
    await expect(c.moteWriter(info.digest)).rejects.toBeInstanceOf(MoteNotFoundError);
  });
});

describe('prune failing mid-way (fault injected: unlink fails with EIO)', () => {
  it('rejects only after every unlink has stopped, keeps the index in step, and releases the lock', async () => {
    const c = open();
    for (let i = 0; i < 60; i++) await c.put(Buffer.from(`mote ${i}`));
    const realUnlink = fs.promises.unlink;
    let calls = 0;
    let rejectedAt = -1;
    vi.spyOn(fs.promises, 'unlink').mockImplementation(async (p) => {
      calls++;
      if (calls === 3) {
        throw Object.assign(new Error('EIO: i/o error, unlink'), { code: 'EIO' });
      }
      await sleep(5);
      return realUnlink(p);
    });
    const err = await c.prune(0).catch((e: unknown) => e);
    rejectedAt = calls;
    expect(err).toMatchObject({ code: 'EIO' });
    await sleep(100);
    expect(calls).toBe(rejectedAt); // nothing went on unlinking after prune rejected
    const left = (await c.stats()).count;
    expect(left).toBeGreaterThan(0);
    // Every mote still listed is still on disk (no index rows for removed blobs, no blobs removed unrecorded).
    const listed: string[] = [];
    for await (const m of c.list()) listed.push(m.digest);
    expect(listed.length).toBe(left);
    vi.restoreAllMocks();
    // The lock was released: another prune runs, and finishes the job.
    expect(await c.prune(0)).toMatchObject({ removed: left, remainingBytes: 0 });
  });
});

describe('moteReaderAt', () => {
  it('close() waits for reads in flight; reads after close reject with ERR_MOTE_READER_CLOSED', async () => {
    const c = open();
    const data = randomData(2 << 20);
    const { digest } = await c.put(data);
    const r = await c.moteReaderAt(digest);
    const buf = Buffer.alloc(1 << 20);
    const pending = r.read(buf, 0, buf.length, 1 << 20);
    const closing = r.close();
    expect(await pending).toBe(1 << 20);
    await closing;
    expect(buf.equals(data.subarray(1 << 20))).toBe(true);
    expect(temporaries(root)).toEqual([]);
    await expect(r.read(buf, 0, 10, 0)).rejects.toMatchObject({ code: 'ERR_MOTE_READER_CLOSED' });
  });
});

describe('options', () => {
  it('an unknown algorithm is an InvalidArgumentError', () => {
    expect(() => new FileMoteCache(root, { algorithm: 'md5' as never })).toThrow(InvalidArgumentError);
  });

  it('first use without initialize() sweeps stale temporaries of dead owners', async () => {
    const tmp = path.join(root, '.mote', 'tmp');
    fs.mkdirSync(tmp, { recursive: true });
    fs.writeFileSync(path.join(tmp, `${deadPid()}-eeeeeeeeeeeeeeee.ingest`), 'abandoned');
    const c = open({ staleAfterMs: 0 });
    expect(await c.moteExists(digestOf('nothing'))).toBe(false);
    expect(temporaries(root)).toEqual([]);
  });

});

describe('bad digests on a store never used', () => {
  it('every method taking a digest rejects it with InvalidDigestError before touching the disk (not even the layout)', async () => {
    const file = path.join(scratch.dir, 'file');
    fs.writeFileSync(file, 'x');
    const source = new FileMoteCache(path.join(scratch.dir, 'source'), { durable: false });
    opened.push(source);
    for (const [label, bad] of BAD_DIGESTS) {
      const d = bad as string;
      const c = open({ fallback: source, populateFromFallback: true });
      const through = new PullThroughCache(open({ fallback: source }), source);
      const calls: Array<[string, () => unknown]> = [
        ['moteExists', () => c.moteExists(d)],
        ['find', () => c.find(d)],
        ['moteRef', () => c.moteRef(d)],
        ['moteReader', () => c.moteReader(d)],
        ['moteReaderAt', () => c.moteReaderAt(d)],
        ['get', () => c.get(d)],
        // (`put` without a digest is legitimate: an undefined one means "whatever it hashes to".)
        ...(d === undefined ? [] : ([['put', () => c.put(Buffer.from('x'), { digest: d })]] as Array<[string, () => unknown]>)),
        ['createMote', () => c.createMote(d, 'x', 1)],
        ['moteWriter', () => c.moteWriter(d)],
        ['commitMote copy', () => c.commitMote(file, { digest: d, size: 1, mediaType: 'x' }, CommitMode.Copy)],
        ['commitMote move', () => c.commitMote(file, { digest: d, size: 1, mediaType: 'x' }, CommitMode.Move)],
        ['removeMote', () => c.removeMote(d)],
        ['PullThroughCache.fetch', () => through.fetch(d)],
        ['PullThroughCache.moteReader', () => through.moteReader(d)],
      ];
      for (const [method, call] of calls) {
        let err: unknown;
        try {
          await call();
        } catch (e) {
          err = e;
        }
        expect(err, `${method} (${label})`).toBeInstanceOf(InvalidDigestError);
        expect(fs.existsSync(root), `${method} (${label}) touched the disk`).toBe(false);
      }
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });
});

describe('onRemoved', () => {
  it('reports motes removed by removeMote, prune and verify eviction; a throwing listener fails nothing', async () => {
    const c = open();
    const seen: string[] = [];
    const off = c.onRemoved((ds) => seen.push(...ds));
    c.onRemoved(() => {
      throw new Error('listener bug');
    });
    const onWarning = vi.fn();
    process.on('warning', onWarning);
    try {
      const a = await c.put(Buffer.from('a'));
      const b = await c.put(Buffer.from('bb'));
      const corrupt = await c.put(Buffer.from('ccc'));
      await c.removeMote(a.digest);
      expect(seen).toEqual([a.digest]);
      // Corrupt one mote behind the store's back: verify() evicts it and says so.
      const p = c.moteRef(corrupt.digest);
      fs.chmodSync(p, 0o644);
      fs.writeFileSync(p, 'CCC');
      fs.chmodSync(p, 0o444);
      expect((await c.verify()).corrupt).toEqual([corrupt.digest]);
      expect(seen).toEqual([a.digest, corrupt.digest]);
      expect(await c.prune(0)).toMatchObject({ removed: 1 });
      expect(seen).toEqual([a.digest, corrupt.digest, b.digest]);
      off();
      const d = await c.put(Buffer.from('dddd'));
      await c.removeMote(d.digest);
      expect(seen).not.toContain(d.digest);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
