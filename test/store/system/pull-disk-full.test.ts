/**
 * Pull-through downloads on a full disk: the local store on a real 4 MiB tmpfs, the source a FileMoteCache on the
 * OS temp dir. A download that does not fit fails with NoSpaceError and leaves nothing half-written in the way (no
 * partial, no lock, no lock temporary, the space given back), so the next pulls work; on a disk with no byte
 * left, every pull fails the same way and none leaks a temporary (ENOSPC while writing the lock's temporary).
 * Mounting needs root (CAP_SYS_ADMIN); where that is not allowed every test here is skipped with a message.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, type TestContext } from 'vitest';
import { FileMoteCache, NoSpaceError, PullThroughCache } from '../../../src/index.js';
import { makeTempDir, randomData, temporaries } from '../../helpers/tmp.js';

const KIB = 1024;
const MIB = 1 << 20;

describe('pull-through on a full disk (4 MiB tmpfs)', () => {
  let scratch: { dir: string; cleanup: () => void };
  let mnt = '';
  let mounted = false;
  let source: FileMoteCache;
  let local: FileMoteCache;
  let cache: PullThroughCache;
  let root = '';
  let n = 0;

  const freeBytes = (): number => {
    const s = fs.statfsSync(mnt);
    return s.bavail * s.bsize;
  };
  const dirOf = (name: string): string[] => {
    try {
      return fs.readdirSync(path.join(root, '.mote', name));
    } catch {
      return [];
    }
  };
  /** Nothing half-written: no partial, no lock or breaker, no temporary. */
  const expectNothingLeft = (): void => {
    expect(dirOf('partial')).toEqual([]);
    expect(dirOf('fetch')).toEqual([]);
    expect(temporaries(root)).toEqual([]);
  };
  async function expectNoSpace(p: Promise<unknown>): Promise<void> {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'the pull should have failed').toBeInstanceOf(NoSpaceError);
  }

  beforeAll(() => {
    scratch = makeTempDir('motecache-pull-nospace-');
    mnt = path.join(scratch.dir, 'mnt');
    fs.mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'pipe' });
      mounted = true;
    } catch (err) {
      const e = err as { stderr?: Buffer; message?: string };
      console.warn(`pull disk-full tests SKIPPED: cannot mount a tmpfs here: ${(e.stderr?.toString().trim() || e.message || String(err)).split('\n')[0]}`);
    }
    source = new FileMoteCache(path.join(scratch.dir, 'source'), { durable: false });
  });
  afterAll(async () => {
    await source?.close();
    if (mounted) {
      try {
        execFileSync('umount', [mnt], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
      }
    }
    scratch.cleanup();
  });
  beforeEach(async (ctx) => {
    if (!mounted) return ctx.skip();
    root = path.join(mnt, `cache-${++n}`);
    local = new FileMoteCache(root); // durable: the default
    cache = new PullThroughCache(local, source);
    await local.initialize();
  });
  afterEach(async () => {
    await local?.close();
    if (mounted) fs.rmSync(root, { recursive: true, force: true });
  });

  it('a download larger than the disk fails with NoSpaceError, leaves nothing, and gives the space back; later pulls work', async (ctx: TestContext) => {
    if (!mounted) return ctx.skip();
    const baseline = freeBytes();
    const big = await source.put(randomData(6 * MIB));
    for (let attempt = 0; attempt < 3; attempt++) {
      await expectNoSpace(cache.fetch(big.digest));
      expectNothingLeft();
      expect(freeBytes()).toBeGreaterThanOrEqual(baseline - 64 * KIB);
      expect(await local.stats()).toEqual({ count: 0, bytes: 0, partialBytes: 0 });
    }
    // Not stuck: motes that fit are pulled at once (no stale period to wait for), up to most of the space.
    const fits = await source.put(randomData(3 * MIB));
    await cache.fetch(fits.digest);
    expect((await local.get(fits.digest)).length).toBe(3 * MIB);
    expectNothingLeft();
  });

  it('a download whose partial is resumed on a disk that fills up: the partial copied aside is not left half-copied', async (ctx: TestContext) => {
    if (!mounted) return ctx.skip();
    const data = randomData(2.5 * MIB);
    const mote = await source.put(data);
    // A complete partial left by an earlier run (a source without ranges reuses only a complete one): resuming
    // copies it into a new partial of our own, which cannot fit next to it.
    fs.mkdirSync(path.join(root, '.mote', 'partial'), { recursive: true });
    fs.writeFileSync(path.join(root, '.mote', 'partial', `sha256-${mote.digest.slice(7)}`), data);
    expect((await local.stats()).partialBytes).toBe(data.length);
    await expectNoSpace(cache.fetch(mote.digest));
    expectNothingLeft();
    await cache.fetch(mote.digest); // from 0, now that the space is back
    expect((await local.get(mote.digest)).equals(data)).toBe(true);
  });

  it('on a disk with no byte left, every pull fails with NoSpaceError and none leaks a lock temporary; once space is back, pulls work', async (ctx: TestContext) => {
    if (!mounted) return ctx.skip();
    const small = await source.put(randomData(100 * KIB));
    const filler = path.join(mnt, `filler-${n}`);
    try {
      try {
        fs.writeFileSync(filler, Buffer.alloc(8 * MIB));
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      }
      expect(freeBytes()).toBe(0);
      for (let attempt = 0; attempt < 5; attempt++) {
        await expectNoSpace(cache.fetch(small.digest));
        expectNothingLeft();
      }
    } finally {
      fs.rmSync(filler, { force: true });
    }
    await cache.fetch(small.digest);
    expect(await local.stats()).toEqual({ count: 1, bytes: 100 * KIB, partialBytes: 0 });
    expectNothingLeft();
  });
});
