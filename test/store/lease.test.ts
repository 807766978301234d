/**
 * Leases (src/store/file/lease.ts): motes a process holds are left alone by prune, in this process and in another
 * (a real `mote prune` child), stay readable through the lease even when removed, and a crashed holder's lease is
 * swept like any temporary once its owner is dead.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileMoteCache, InvalidDigestError, digestOf } from '../../src/index.js';
import { BAD_DIGESTS } from '../helpers/bad-digests.js';
import { deadPid, makeTempDir, randomData, temporaries } from '../helpers/tmp.js';

const CLI = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'dist', 'bin', 'mote.js');
let scratch: { dir: string; cleanup: () => void };
let root: string;
let cache: FileMoteCache;
beforeEach(() => {
  scratch = makeTempDir('mote-lease-');
  root = path.join(scratch.dir, 'cache');
  cache = new FileMoteCache(root, { durable: false });
});
afterEach(async () => {
  await cache.close();
  scratch.cleanup();
});

const prune = (maxSize: number): { removed: number } =>
  ({ removed: (JSON.parse(execFileSync(process.execPath, [CLI, 'prune', '--max-size', String(maxSize), '--cache', root, '--json'], { encoding: 'utf8' })) as { removedCount: number }).removedCount });

describe('MoteLease', () => {
  it('holds what is in the store, not what is not; held motes survive prune here and in another process until released', async () => {
    const [a, b, c] = await Promise.all([randomData(1000), randomData(2000), randomData(3000)].map((d) => cache.put(d)));
    const lease = cache.lease();
    expect(lease.hold(a!.digest)).toBe(true);
    expect(lease.hold(a!.digest)).toBe(true); // idempotent
    expect(lease.hold(b!.digest)).toBe(true);
    expect(lease.hold(digestOf('never stored'))).toBe(false);
    expect(await cache.prune(0)).toMatchObject({ removed: 1 }); // c only
    expect(fs.existsSync(cache.moteRef(c!.digest))).toBe(false);
    expect(prune(0).removed).toBe(0); // another process: the lease's links keep a and b
    expect(fs.existsSync(cache.moteRef(a!.digest)) && fs.existsSync(cache.moteRef(b!.digest))).toBe(true);
    lease.release();
    lease.release();
    expect(temporaries(root)).toEqual([]);
    expect(prune(0).removed).toBe(2);
  });

  it('a held mote stays readable through the lease after removeMote; release then frees it', async () => {
    const data = randomData(5000);
    const { digest } = await cache.put(data);
    {
      await using lease = cache.lease();
      lease.hold(digest);
      await cache.removeMote(digest);
      expect(fs.existsSync(cache.moteRef(digest))).toBe(false);
      expect(fs.readFileSync(lease.pathOf(digest)!).equals(data)).toBe(true);
    }
    expect(temporaries(root)).toEqual([]);
  });

  it('holds only a regular file: a symlink, a FIFO or a directory named as a digest is evicted and reported missing', async () => {
    const data = randomData(5000);
    const digest = digestOf(data);
    const blob = path.join(root, 'blobs', 'sha256', digest.slice(7));
    const other = path.join(scratch.dir, 'other');
    fs.writeFileSync(other, data); // even the right bytes behind a symlink are not a mote: the link could move
    const lease = cache.lease();
    const entries: [string, () => void][] = [
      ['symlink', () => fs.symlinkSync(other, blob)],
      ['fifo', () => execFileSync('mkfifo', [blob])],
      ['directory', () => fs.mkdirSync(path.join(blob, 'inside'), { recursive: true })],
    ];
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    for (const [kind, make] of entries) {
      make();
      expect(lease.hold(digest), kind).toBe(false);
      expect(fs.lstatSync(blob, { throwIfNoEntry: false }), kind).toBeUndefined();
    }
    expect(fs.readFileSync(other)).toEqual(data); // the symlink's target is left alone
    await cache.put(data);
    expect(lease.hold(digest)).toBe(true);
    expect(fs.readFileSync(lease.pathOf(digest)!)).toEqual(data);
    lease.release();
  });

  it('refuses a bad digest before touching the disk, and holds nothing once released', async () => {
    const lease = cache.lease();
    for (const [label, bad] of BAD_DIGESTS) expect(() => lease.hold(bad as string), label).toThrow(InvalidDigestError);
    expect(fs.existsSync(root)).toBe(false);
    lease.release();
    expect(() => lease.hold(digestOf('x'))).toThrow(expect.objectContaining({ code: 'ERR_MOTE_LEASE_RELEASED' }));
  });

  it("a dead holder's lease is swept like any temporary (stale and its owner gone), then prune may remove its motes", async () => {
    const { digest } = await cache.put(randomData(4000));
    const lease = cache.lease();
    lease.hold(digest);
    // As if its holder had been SIGKILLed: the same lease directory under a dead pid.
    const dir = path.dirname(lease.pathOf(digest)!);
    const orphan = path.join(path.dirname(dir), `${deadPid()}-${path.basename(dir).split('-')[1]}`);
    fs.renameSync(dir, orphan);
    expect(prune(0).removed).toBe(0);
    const sweeper = new FileMoteCache(root, { durable: false, staleAfterMs: 0 });
    await sweeper.initialize();
    await sweeper.close();
    expect(fs.existsSync(orphan)).toBe(false);
    expect(prune(0).removed).toBe(1);
  });
});
