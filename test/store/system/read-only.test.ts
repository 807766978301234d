/**
 * A cache that cannot be written to still serves every read: a real tmpfs remounted read-only (EROFS), and a
 * root-owned cache read by a child process running as `nobody` (EPERM or EACCES from link(): the blob is not its
 * own, or `.mote/tmp/`, where read links go, is not writable). Readers then read the blob without a private link
 * (linkOnRead's fallback), `get` needs no write at all, and an entry that would be evicted (a symlink named as a
 * digest) is still never served.
 * Mounting and switching users need root; where that is not allowed the tests are skipped with a message.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { FileMoteCache, MoteNotFoundError, digestOf, type FileMoteCacheOptions } from '../../../src/index.js';
import { makeTempDir, randomData, readAll } from '../../helpers/tmp.js';

const MIB = 1 << 20;
const CHILD = fileURLToPath(new URL('../../children/ro-reader.mjs', import.meta.url));
const CONFIGS: FileMoteCacheOptions[] = [{ linkOnRead: true }, { linkOnRead: false }, { verifyOnRead: 'always' }];
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A small mote (read by get in one go, no link) and one past get's synchronous limit (streamed, so linked). */
async function seed(root: string): Promise<{ small: Buffer; big: Buffer; digests: string[] }> {
  const w = new FileMoteCache(root);
  const small = randomData(1000);
  const big = randomData(9 * MIB);
  await w.put(small, { mediaType: 'x/small' });
  await w.put(big, { mediaType: 'x/big' });
  await w.close();
  return { small, big, digests: [digestOf(small), digestOf(big)] };
}

describe('a cache on a read-only mount', () => {
  let scratch: { dir: string; cleanup: () => void };
  let mnt = '';
  let mounted = false;
  let root = '';
  let seeded: Awaited<ReturnType<typeof seed>>;
  const planted = digestOf('planted');

  beforeAll(async () => {
    scratch = makeTempDir('motecache-ro-');
    mnt = path.join(scratch.dir, 'mnt');
    fs.mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', mnt], { stdio: 'pipe' });
      mounted = true;
    } catch (err) {
      console.warn(`read-only mount tests SKIPPED: cannot mount a tmpfs here: ${String((err as Error).message).split('\n')[0]}`);
      return;
    }
    root = path.join(mnt, 'cache');
    seeded = await seed(root);
    const secret = path.join(mnt, 'secret');
    fs.writeFileSync(secret, 'planted');
    fs.symlinkSync(secret, path.join(root, 'blobs', 'sha256', planted.slice(7)));
    execFileSync('mount', ['-o', 'remount,ro', mnt], { stdio: 'pipe' });
  });
  afterAll(() => {
    if (mounted) {
      try {
        execFileSync('umount', [mnt], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
      }
    }
    scratch.cleanup();
  });

  for (const options of CONFIGS) {
    it(`every read works (${JSON.stringify(options)}); nothing is written; a symlink named as a digest is still a miss`, async (ctx: TestContext) => {
      if (!mounted) return ctx.skip();
      expect(() => fs.writeFileSync(path.join(root, 'probe'), 'x')).toThrow(/EROFS/);
      const c = new FileMoteCache(root, options);
      try {
        for (const data of [seeded.small, seeded.big]) {
          const d = digestOf(data);
          expect((await c.get(d)).equals(data)).toBe(true);
          expect((await readAll(await c.moteReader(d))).equals(data)).toBe(true);
          await using r = await c.moteReaderAt(d);
          const b = Buffer.alloc(r.size);
          let off = 0;
          while (off < r.size) off += await r.read(b, off, r.size - off, off);
          expect(b.equals(data)).toBe(true);
          expect(await c.find(d)).toMatchObject({ digest: d, size: data.length });
          expect(await c.moteExists(d)).toBe(true);
        }
        expect(await c.stats()).toEqual({ count: 2, bytes: seeded.small.length + seeded.big.length, partialBytes: 0 });
        await expect(c.get(planted)).rejects.toBeInstanceOf(MoteNotFoundError);
        await expect(c.moteReader(planted)).rejects.toBeInstanceOf(MoteNotFoundError);
        expect(fs.lstatSync(path.join(root, 'blobs', 'sha256', planted.slice(7))).isSymbolicLink()).toBe(true); // could not be evicted
        expect(fs.readdirSync(path.join(root, '.mote', 'tmp'))).toEqual([]);
      } finally {
        await c.close();
      }
    });
  }
});

describe('a cache the reading user may not write to (a child process as nobody)', () => {
  let scratch: { dir: string; cleanup: () => void };
  let root = '';
  let seeded: Awaited<ReturnType<typeof seed>>;
  let skipReason = '';

  beforeAll(async () => {
    scratch = makeTempDir('motecache-nobody-');
    fs.chmodSync(scratch.dir, 0o755); // traversable by nobody; everything below is root's, not writable by others
    root = path.join(scratch.dir, 'cache');
    seeded = await seed(root);
    const probe = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'touch', path.join(root, '.mote', 'tmp', 'probe')]);
    if (probe.error || process.getuid?.() !== 0) skipReason = `cannot run a process as nobody here: ${probe.error?.message ?? 'not root'}`;
    else if (probe.status === 0) skipReason = 'nobody can write to the cache here';
    if (skipReason) console.warn(`read-as-nobody tests SKIPPED: ${skipReason}`);
  });
  afterAll(() => scratch.cleanup());

  // Blob files owned by root: link() fails with EPERM where fs.protected_hardlinks is on (not the reader's file);
  // owned by the reader (written by it earlier, the cache since taken over): EACCES (no write permission on
  // `.mote/tmp/`). Both mean "read without a link".
  for (const [owner, options] of CONFIGS.flatMap((o) => [['root', o], ['the reader', o]] as const)) {
    it(`get, moteReader and moteReaderAt read every mote (blob files owned by ${owner}, ${JSON.stringify(options)})`, (ctx: TestContext) => {
      if (skipReason) return ctx.skip();
      const uid = owner === 'root' ? 0 : 65534;
      for (const d of seeded.digests) fs.chownSync(path.join(root, 'blobs', 'sha256', d.slice(7)), uid, uid);
      const r = spawnSync(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CHILD, JSON.stringify({ root, digests: seeded.digests, options })],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { uid: number; results: Array<{ digest: string; how: string; actual?: string; error?: unknown }> };
      expect(report.uid).toBe(65534);
      expect(report.results).toHaveLength(6);
      for (const res of report.results) expect(res, `${res.how} of ${res.digest}`).toEqual({ digest: res.digest, how: res.how, actual: res.digest });
      expect(sha(seeded.big)).toBe(seeded.digests[1]);
      expect(fs.readdirSync(path.join(root, '.mote', 'tmp'))).toEqual([]);
    });
  }

  // A layout this user cannot complete: no `.mote/` (an OCI layout another tool wrote, a cache never used by a
  // writer), and the root not writable. The store cannot make its layout; reads go on without it (no read links:
  // there is no `.mote/tmp/` to link into), and a write fails with the error that kept the layout from being made.
  for (const options of CONFIGS) {
    it(`a layout without .mote/ that may not be completed is read all the same (${JSON.stringify(options)})`, (ctx: TestContext) => {
      if (skipReason) return ctx.skip();
      const bare = path.join(scratch.dir, `bare-${CONFIGS.indexOf(options)}`);
      fs.cpSync(root, bare, { recursive: true });
      fs.rmSync(path.join(bare, '.mote'), { recursive: true });
      for (const d of seeded.digests) fs.chownSync(path.join(bare, 'blobs', 'sha256', d.slice(7)), 0, 0);
      const run = (cfg: object): { results: Array<{ digest: string; how: string; actual?: string; error?: unknown }> } => {
        const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CHILD, JSON.stringify(cfg)], { encoding: 'utf8', timeout: 60_000 });
        expect(r.status, r.stderr).toBe(0);
        return JSON.parse(r.stdout.trim().split('\n').pop()!) as { results: Array<{ digest: string; how: string; actual?: string; error?: unknown }> };
      };
      const report = run({ root: bare, digests: seeded.digests, options });
      expect(report.results).toHaveLength(6);
      for (const res of report.results) expect(res, `${res.how} of ${res.digest}`).toEqual({ digest: res.digest, how: res.how, actual: res.digest });
      // A miss is still a miss, not an error about the missing `.mote/tmp/`.
      const miss = run({ root: bare, digests: [digestOf('not in the layout')], options }).results;
      for (const res of miss) expect(res.error, res.how).toMatchObject({ code: 'ERR_MOTE_NOT_FOUND' });
      expect(fs.existsSync(path.join(bare, '.mote'))).toBe(false); // nothing was written
    });
  }
});
