/**
 * commitMote with a source on another filesystem (/dev/shm, a tmpfs, against a cache under the OS temp dir):
 * rename() fails with EXDEV there, so 'move' must copy, verify, publish atomically and only then remove the source.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CommitMode, DigestMismatchError, FileMoteCache, SizeMismatchError, digestOf, type MoteInfo } from '../../../src/index.js';
import { makeTempDir, randomData, temporaries } from '../../helpers/tmp.js';

const SHM = '/dev/shm';
const MIB = 1 << 20;

function crossDeviceSkipReason(): string | undefined {
  let shm: fs.Stats;
  try {
    shm = fs.statSync(SHM);
  } catch {
    return `${SHM} does not exist`;
  }
  if (!shm.isDirectory()) return `${SHM} is not a directory`;
  try {
    fs.accessSync(SHM, fs.constants.W_OK);
  } catch {
    return `${SHM} is not writable`;
  }
  if (shm.dev === fs.statSync(os.tmpdir()).dev) return `${SHM} and ${os.tmpdir()} are on the same device`;
  return undefined;
}

const skipReason = crossDeviceSkipReason();
if (skipReason) console.warn(`EXDEV tests SKIPPED: ${skipReason}`);

const sha256File = (p: string): string => `sha256:${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`;

describe.skipIf(skipReason !== undefined)('commitMote from another filesystem (EXDEV)', () => {
  let scratch: { dir: string; cleanup: () => void };
  let shmDir = '';
  let root = '';
  let cache: FileMoteCache;
  let n = 0;

  beforeAll(() => {
    shmDir = fs.mkdtempSync(path.join(SHM, 'motecache-exdev-'));
  });
  afterAll(() => fs.rmSync(shmDir, { recursive: true, force: true }));
  beforeEach(async () => {
    scratch = makeTempDir('motecache-exdev-');
    root = path.join(scratch.dir, 'cache');
    cache = new FileMoteCache(root);
    await cache.initialize();
  });
  afterEach(async () => {
    await cache.close();
    scratch.cleanup();
  });

  /** A source file in /dev/shm and the info that describes it. */
  function source(size: number): { src: string; data: Buffer; info: MoteInfo } {
    const data = randomData(size);
    const src = path.join(shmDir, `source-${++n}.bin`);
    fs.writeFileSync(src, data);
    return { src, data, info: { digest: digestOf(data), size, mediaType: 'application/vnd.test.exdev' } };
  }

  async function expectPublished(info: MoteInfo): Promise<void> {
    const blob = cache.moteRef(info.digest);
    const st = fs.statSync(blob);
    expect(st.dev).toBe(fs.statSync(root).dev);
    expect(st.size).toBe(info.size);
    expect(st.nlink).toBe(1);
    expect(st.mode & 0o222).toBe(0); // published blobs are read-only
    expect(sha256File(blob)).toBe(info.digest);
    expect(await cache.moteExists(info.digest)).toBe(true);
    expect(await cache.find(info.digest)).toEqual(info);
    expect(temporaries(root)).toEqual([]);
  }

  it('the setup really is cross-device', () => {
    expect(fs.statSync(shmDir).dev).not.toBe(fs.statSync(root).dev);
    // ... so a plain rename from there into the cache fails with EXDEV.
    const { src } = source(10);
    let code: string | undefined;
    try {
      fs.renameSync(src, path.join(root, 'probe'));
    } catch (err) {
      code = (err as NodeJS.ErrnoException).code;
    }
    expect(code).toBe('EXDEV');
  });

  it("'move' publishes the verified mote and removes the source", async () => {
    const { src, info } = source(24 * MIB + 3);
    await cache.commitMote(src, info, 'move');
    await expectPublished(info);
    expect(fs.existsSync(src)).toBe(false);
    // Survives a restart with its media type.
    const again = new FileMoteCache(root);
    await again.initialize();
    expect(await again.find(info.digest)).toEqual(info);
    await again.close();
  });

  it("'copy' publishes the verified mote and keeps the source untouched", async () => {
    const { src, data, info } = source(3 * MIB);
    const before = fs.statSync(src);
    await cache.commitMote(src, info, CommitMode.Copy);
    await expectPublished(info);
    const after = fs.statSync(src);
    expect(after.ino).toBe(before.ino);
    expect(after.mode).toBe(before.mode);
    expect(fs.readFileSync(src).equals(data)).toBe(true);
  });

  it("'move' of wrong content fails with DigestMismatchError: nothing published, the source still there and intact", async () => {
    const { src, data, info } = source(2 * MIB);
    const claimed = digestOf(randomData(64));
    const before = fs.statSync(src);
    const err = await cache.commitMote(src, { ...info, digest: claimed }, 'move').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect((err as DigestMismatchError).code).toBe('ERR_MOTE_DIGEST_MISMATCH');
    expect((err as DigestMismatchError).expected).toBe(claimed);
    expect((err as DigestMismatchError).actual).toBe(info.digest);
    expect(fs.existsSync(cache.moteRef(claimed))).toBe(false);
    expect(fs.existsSync(cache.moteRef(info.digest))).toBe(false);
    expect(await cache.moteExists(claimed)).toBe(false);
    expect((await cache.stats()).count).toBe(0);
    expect(temporaries(root)).toEqual([]);
    const after = fs.statSync(src);
    expect(after.ino).toBe(before.ino);
    expect(after.mode).toBe(before.mode);
    expect(fs.readFileSync(src).equals(data)).toBe(true);
  });

  it("'move' with the wrong size fails with SizeMismatchError and keeps the source", async () => {
    const { src, data, info } = source(MIB);
    const err = await cache.commitMote(src, { ...info, size: info.size + 1 }, 'move').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeMismatchError);
    expect((err as SizeMismatchError).expected).toBe(info.size + 1);
    expect((err as SizeMismatchError).actual).toBe(info.size);
    expect(await cache.moteExists(info.digest)).toBe(false);
    expect(temporaries(root)).toEqual([]);
    expect(fs.readFileSync(src).equals(data)).toBe(true);
  });

  it("'move' of a mote already in the cache removes the source and leaves the blob as it was", async () => {
    const { src, data, info } = source(MIB);
    await cache.put(data, { mediaType: info.mediaType });
    const blob = fs.statSync(cache.moteRef(info.digest));
    await cache.commitMote(src, info, 'move');
    expect(fs.existsSync(src)).toBe(false);
    expect(fs.statSync(cache.moteRef(info.digest)).ino).toBe(blob.ino);
    await expectPublished(info);

    // Wrong content for a mote that exists: still reported, the source kept, the blob untouched.
    const bad = source(MIB);
    const err = await cache.commitMote(bad.src, info, 'move').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    expect(fs.readFileSync(bad.src).equals(bad.data)).toBe(true);
    expect(sha256File(cache.moteRef(info.digest))).toBe(info.digest);
  });
});
