/**
 * Disk full: a cache on a 4 MiB tmpfs. Writes that do not fit fail with NoSpaceError (ERR_MOTE_NO_SPACE), leave
 * nothing at the blob path and no temporary (the space is given back), and the cache keeps working.
 * Mounting needs root (CAP_SYS_ADMIN); where that is not allowed every test here is skipped with a message.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { CommitMode, FileMoteCache, NoSpaceError, digestOf } from '../../../src/index.js';
import { chunked, makeTempDir, randomData, temporaries } from '../../helpers/tmp.js';

const KIB = 1024;
const MIB = 1 << 20;

describe('disk full (4 MiB tmpfs)', () => {
  let scratch: { dir: string; cleanup: () => void };
  let mnt = '';
  let mounted = false;
  let skipReason = '';
  let root = '';
  let cache: FileMoteCache;
  /** Motes stored before the failures; they must survive every one of them. */
  const kept: Array<{ digest: string; data: Buffer }> = [];
  /** Free bytes on the tmpfs once the kept motes are in. */
  let baselineFree = 0;

  const freeBytes = (): number => {
    const s = fs.statfsSync(mnt);
    return s.bavail * s.bsize;
  };

  beforeAll(async () => {
    scratch = makeTempDir('motecache-nospace-');
    mnt = path.join(scratch.dir, 'mnt');
    fs.mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'pipe' });
      mounted = true;
    } catch (err) {
      const e = err as { stderr?: Buffer; message?: string };
      const detail = (e.stderr?.toString().trim() || e.message || String(err)).split('\n')[0];
      skipReason = `cannot mount a tmpfs here (uid ${process.getuid?.() ?? '?'}): ${detail}`;
      console.warn(`disk-full tests SKIPPED: ${skipReason}`);
      return;
    }
    root = path.join(mnt, 'cache');
    cache = new FileMoteCache(root); // durable: the default
    await cache.initialize();
    for (let i = 0; i < 3; i++) {
      const data = randomData(100 * KIB + i);
      const info = await cache.put(data, { mediaType: 'application/vnd.test.kept' });
      kept.push({ digest: info.digest, data });
    }
    baselineFree = freeBytes();
  });

  afterAll(async () => {
    if (mounted) {
      await cache?.close();
      try {
        execFileSync('umount', [mnt], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
      }
    }
    scratch.cleanup();
  });

  function skipUnlessMounted(ctx: TestContext): void {
    if (!mounted) ctx.skip(); // the reason was printed once, in beforeAll
  }

  /** Nothing published for `digest`, no temporary, the space given back, the earlier motes intact. */
  async function expectNothingLeft(digest: string | undefined): Promise<void> {
    if (digest) {
      expect(fs.existsSync(cache.moteRef(digest))).toBe(false);
      expect(await cache.moteExists(digest)).toBe(false);
    }
    expect(temporaries(root)).toEqual([]);
    // A temporary unlinked but still open would hold its blocks: the free space must be back.
    expect(freeBytes()).toBeGreaterThanOrEqual(baselineFree - 256 * KIB);
    const s = await cache.stats();
    expect(s.count).toBe(kept.length);
    for (const k of kept) expect((await cache.get(k.digest)).equals(k.data)).toBe(true);
  }

  async function expectNoSpace(p: Promise<unknown>): Promise<void> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'the write should have failed').toBeInstanceOf(NoSpaceError);
    expect((err as NoSpaceError).code).toBe('ERR_MOTE_NO_SPACE');
  }

  it('the tmpfs is really small', (ctx) => {
    skipUnlessMounted(ctx);
    expect(fs.statfsSync(mnt).blocks * fs.statfsSync(mnt).bsize).toBeLessThanOrEqual(4 * MIB);
    expect(baselineFree).toBeLessThan(4 * MIB);
  });

  it('put() of a 6 MiB buffer rejects with NoSpaceError and leaves nothing', async (ctx) => {
    skipUnlessMounted(ctx);
    const data = randomData(6 * MIB);
    await expectNoSpace(cache.put(data));
    await expectNothingLeft(digestOf(data));
  });

  it('put() of a 10 MiB buffer (the streamed path for large buffers) rejects with NoSpaceError', async (ctx) => {
    skipUnlessMounted(ctx);
    const data = randomData(10 * MIB);
    await expectNoSpace(cache.put(data, { digest: digestOf(data), size: data.length }));
    await expectNothingLeft(digestOf(data));
  });

  it('put() of a 6 MiB stream rejects with NoSpaceError', async (ctx) => {
    skipUnlessMounted(ctx);
    const data = randomData(6 * MIB);
    await expectNoSpace(cache.put(chunked(data, 64 * KIB)));
    await expectNothingLeft(digestOf(data));
  });

  it('a 6 MiB moteWriter stream rejects with NoSpaceError', async (ctx) => {
    skipUnlessMounted(ctx);
    const data = randomData(6 * MIB);
    const d = digestOf(data);
    await cache.createMote(d, 'application/vnd.test.big', data.length);
    await expectNoSpace(pipeline(chunked(data, 256 * KIB), await cache.moteWriter(d)));
    await expectNothingLeft(d);
    // Also with one big chunk (a single write that only partly fits).
    await cache.createMote(d, 'application/vnd.test.big', data.length);
    await expectNoSpace(pipeline(Readable.from([data]), await cache.moteWriter(d)));
    await expectNothingLeft(d);
  });

  for (const mode of [CommitMode.Copy, CommitMode.Move]) {
    it(`commitMote ${mode} of a 6 MiB file from another filesystem rejects with NoSpaceError; the source is intact`, async (ctx) => {
      skipUnlessMounted(ctx);
      const data = randomData(6 * MIB);
      const d = digestOf(data);
      const src = path.join(scratch.dir, `source-${mode}.bin`); // on the OS temp dir, not on the tmpfs
      fs.writeFileSync(src, data);
      await expectNoSpace(cache.commitMote(src, { digest: d, size: data.length, mediaType: 'application/vnd.test.big' }, mode));
      await expectNothingLeft(d);
      expect(fs.readFileSync(src).equals(data)).toBe(true);
    });
  }

  it('on a completely full disk: new writes fail with NoSpaceError, reads and re-puts of stored motes still work', async (ctx) => {
    skipUnlessMounted(ctx);
    const filler = path.join(mnt, 'filler');
    try {
      try {
        fs.writeFileSync(filler, Buffer.alloc(8 * MIB));
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      }
      expect(freeBytes()).toBe(0);
      const fresh = randomData(10);
      await expectNoSpace(cache.put(fresh));
      const d = digestOf(randomData(100));
      await cache.createMote(d, 'application/octet-stream', 100);
      await expectNoSpace(pipeline(chunked(randomData(100)), await cache.moteWriter(d)));
      expect(fs.existsSync(cache.moteRef(d))).toBe(false);
      expect(temporaries(root)).toEqual([]);
      for (const k of kept) {
        // Already stored: nothing to write, so it succeeds.
        expect((await cache.put(k.data)).digest).toBe(k.digest);
        expect((await cache.get(k.digest)).equals(k.data)).toBe(true);
        const chunks: Buffer[] = [];
        for await (const c of await cache.moteReader(k.digest)) chunks.push(c as Buffer);
        expect(Buffer.concat(chunks).equals(k.data)).toBe(true);
      }
      expect(temporaries(root)).toEqual([]);
    } finally {
      fs.rmSync(filler, { force: true });
    }
    await expectNothingLeft(undefined);
  });

  it('afterwards the cache still works: small motes, and one that needs most of the space', async (ctx) => {
    skipUnlessMounted(ctx);
    const small = randomData(512 * KIB);
    const info = await cache.put(small, { mediaType: 'application/vnd.test.after' });
    expect((await cache.get(info.digest)).equals(small)).toBe(true);
    const d2data = randomData(200 * KIB);
    const d2 = digestOf(d2data);
    await cache.createMote(d2, 'application/vnd.test.after', d2data.length);
    await pipeline(chunked(d2data), await cache.moteWriter(d2));
    expect(await cache.find(d2)).toEqual({ digest: d2, size: d2data.length, mediaType: 'application/vnd.test.after' });
    // Only possible if every failed write gave its space back.
    const big = randomData(2 * MIB + 512 * KIB);
    const bigInfo = await cache.put(chunked(big, 64 * KIB));
    expect((await cache.get(bigInfo.digest)).equals(big)).toBe(true);
    for (const k of kept) expect((await cache.get(k.digest)).equals(k.data)).toBe(true);
    const v = await cache.verify();
    expect(v.corrupt).toEqual([]);
    expect(v.checked).toBe(kept.length + 3);
    expect(temporaries(root)).toEqual([]);
  });
});
