/**
 * PullThroughCache (src/store/pullthrough/): first the conformance suites, the decorator over a FileMoteCache (the
 * `populateFromFallback` shorthand runs them in file-cache.test.ts). Then pull-through population from a fallback:
 * resumed after interruptions, bounded, verified over every byte, one download per digest across processes, taken
 * over from a killed holder, swept when abandoned. In-process cases inject faults through FaultyFallback (a
 * read-only view of a real FileMoteCache that can cut, corrupt, shorten or lengthen its streams); cross-process
 * cases run test/children/populate-child.mjs (the built package) with a fallback that logs every read to a shared
 * file and is throttled; populate-rogue.mjs is a hand-written fake holder (a lock that looks dead or foreign, a
 * partial it keeps truncating and scribbling on), populate-copies.mjs loads two copies of the package in one process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AbortError,
  DigestMismatchError,
  FileMoteCache,
  MoteNotFoundError,
  NoSpaceError,
  PullThroughCache,
  SizeMismatchError,
  isRangeReadable,
  type MoteInfo,
  type MoteProvider,
  type MoteReaderAt,
  type RangeReadable,
  type FileMoteCacheOptions,
} from '../../src/index.js';
import type { FallbackProgress } from '../../src/store/pullthrough/types.js';
import { moteCacheConformance } from '../conformance/mote-cache.js';
import { moteProviderConformance } from '../conformance/mote-provider.js';
import { killLiveChildren, lastJson, pollUntil, startChild, sendGo, type ChildResult } from '../helpers/children.js';
import { fileHarness } from '../helpers/file-harness.js';
import { deadPid, makeTempDir, randomData, readAll, temporaries } from '../helpers/tmp.js';

moteCacheConformance('PullThroughCache over a FileMoteCache', fileHarness({ durable: false }, 'decorator'), {
  keepsContent: true,
  populatesFromFallback: true,
});

moteProviderConformance('PullThroughCache (motes seeded in its source)', async (scratch) => {
  const local = new FileMoteCache(path.join(scratch, 'cache'), { durable: false });
  const source = new FileMoteCache(path.join(scratch, 'source'), { durable: false });
  return {
    provider: new PullThroughCache(local, source),
    seed: async (data) => (await source.put(data)).digest,
    cleanup: async () => {
      await local.close();
      await source.close();
    },
  };
});

const MIB = 1 << 20;
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const hexOf = (d: string): string => d.slice('sha256:'.length);

/** What one stream the FaultyFallback opens does wrong. */
interface Fault {
  /** Fail the stream with an error once it has served this many bytes. */
  cutAfter?: number;
  /** The error of `cutAfter` (default: a connection reset). */
  cutError?: Error;
  /** Flip the byte at this absolute position. */
  corruptAt?: number;
  /** End the stream (without error) once it has served this many bytes. */
  endAfter?: number;
  /** Fail opening the stream with this error. */
  openError?: Error;
}

/**
 * A hand-written fake, for fault injection only: a MoteProvider (the read role) over a real FileMoteCache holding the
 * data. Each stream it opens takes the next fault from `faults` (then `always`, if set). Counts calls and bytes
 * served. Without RangeReadable (see FaultyRangeFallback).
 */
class FaultyFallback implements MoteProvider {
  readonly calls: Array<{ method: 'moteReader' | 'moteReaderFrom'; offset: number }> = [];
  served = 0;
  faults: Fault[] = [];
  always: Fault | undefined;
  /** Announce this size in `find` instead of the real one. */
  announcedSize: number | undefined;
  constructor(readonly inner: FileMoteCache) {}
  moteExists(d: string): Promise<boolean> {
    return this.inner.moteExists(d);
  }
  async find(d: string): Promise<MoteInfo | undefined> {
    const info = await this.inner.find(d);
    return info && this.announcedSize !== undefined ? { ...info, size: this.announcedSize } : info;
  }
  moteRef(): string {
    return '';
  }
  moteReaderAt(d: string): Promise<MoteReaderAt> {
    return this.inner.moteReaderAt(d);
  }
  moteReader(d: string): Promise<Readable> {
    return this.stream('moteReader', d, 0);
  }
  protected async stream(method: 'moteReader' | 'moteReaderFrom', digest: string, offset: number): Promise<Readable> {
    this.calls.push({ method, offset });
    const fault: Fault = this.faults.shift() ?? this.always ?? {};
    if (fault.openError) throw fault.openError;
    const data = await this.inner.get(digest);
    const self = this;
    async function* gen(): AsyncGenerator<Buffer> {
      let sent = 0;
      for (let pos = offset; pos < data.length; ) {
        let n = Math.min(64 * 1024, data.length - pos);
        if (fault.cutAfter !== undefined) n = Math.min(n, fault.cutAfter - sent);
        if (fault.endAfter !== undefined) n = Math.min(n, fault.endAfter - sent);
        if (n <= 0) {
          if (fault.cutAfter !== undefined && sent >= fault.cutAfter) throw fault.cutError ?? Object.assign(new Error('connection reset (FaultyFallback)'), { code: 'ECONNRESET' });
          return;
        }
        const chunk = Buffer.from(data.subarray(pos, pos + n));
        if (fault.corruptAt !== undefined && fault.corruptAt >= pos && fault.corruptAt < pos + n) chunk[fault.corruptAt - pos] = chunk[fault.corruptAt - pos]! ^ 0xff;
        pos += n;
        sent += n;
        self.served += n;
        await new Promise((r) => setImmediate(r));
        yield chunk;
      }
      if (fault.cutAfter !== undefined && sent >= fault.cutAfter) throw fault.cutError ?? Object.assign(new Error('connection reset (FaultyFallback)'), { code: 'ECONNRESET' });
    }
    return Readable.from(gen());
  }
}

/** FaultyFallback that can also stream from an offset. */
class FaultyRangeFallback extends FaultyFallback implements RangeReadable {
  moteReaderFrom(d: string, offset: number): Promise<Readable> {
    return this.stream('moteReaderFrom', d, offset);
  }
}

/** What a lock records besides the pid so that a process in the same pid namespace and boot may check that pid. */
function nsAndBoot(): { ns?: string; boot?: string } {
  const out: { ns?: string; boot?: string } = {};
  try {
    out.ns = fs.readlinkSync('/proc/self/ns/pid');
    out.boot = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    /* not Linux */
  }
  return out;
}

function partialPath(root: string, digest: string): string {
  return path.join(root, '.mote', 'partial', `sha256-${hexOf(digest)}`);
}
function lockPath(root: string, digest: string): string {
  return path.join(root, '.mote', 'fetch', `sha256-${hexOf(digest)}.lock`);
}
function blobsIn(root: string): string[] {
  try {
    return fs.readdirSync(path.join(root, 'blobs', 'sha256'));
  } catch {
    return [];
  }
}

describe('populate from a fallback, in one process', () => {
  let scratch: { dir: string; cleanup: () => void };
  let source: FileMoteCache;
  let root: string;
  const opened: FileMoteCache[] = [];
  let n = 0;
  beforeAll(() => {
    scratch = makeTempDir('motecache-populate-');
    source = new FileMoteCache(path.join(scratch.dir, 'source'), { durable: false });
  });
  afterAll(async () => {
    await source.close();
    scratch.cleanup();
  });
  beforeEach(() => {
    root = path.join(scratch.dir, `cache-${n++}`);
  });
  afterEach(async () => {
    for (const c of opened.splice(0)) await c.close();
  });
  const open = (fallback: MoteProvider, extra: { onFallbackProgress?: (e: FallbackProgress) => void } = {}): FileMoteCache => {
    const c = new FileMoteCache(root, { fallback, populateFromFallback: true, durable: false, ...extra });
    opened.push(c);
    return c;
  };
  const seed = async (size: number): Promise<{ data: Buffer; digest: string }> => {
    const data = randomData(size);
    const { digest } = await source.put(data, { mediaType: 'application/vnd.test.layer' });
    return { data, digest };
  };

  it('resumes a cut stream from where it stopped: bytes served add up to the size once', async () => {
    const { data, digest } = await seed(3 * MIB + 17);
    const fb = new FaultyRangeFallback(source);
    expect(isRangeReadable(fb)).toBe(true);
    const cut = MIB + 123;
    fb.faults = [{ cutAfter: cut }];
    const progress: FallbackProgress[] = [];
    const cache = open(fb, { onFallbackProgress: (e) => progress.push(e) });
    expect((await cache.get(digest)).equals(data)).toBe(true);
    expect(fb.calls).toEqual([
      { method: 'moteReaderFrom', offset: 0 },
      { method: 'moteReaderFrom', offset: cut },
    ]);
    expect(fb.served).toBe(data.length);
    expect(fs.existsSync(cache.moteRef(digest))).toBe(true);
    expect((await cache.find(digest))?.mediaType).toBe('application/vnd.test.layer');
    // Progress went up to the size and never backwards; nothing is left behind.
    expect(progress.at(-1)).toEqual({ digest, received: data.length, size: data.length });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.received).toBeGreaterThanOrEqual(progress[i - 1]!.received);
    expect(fs.existsSync(partialPath(root, digest))).toBe(false);
    expect(fs.existsSync(lockPath(root, digest))).toBe(false);
    expect(temporaries(root)).toEqual([]);
    expect(fs.statSync(cache.moteRef(digest)).mode & 0o222).toBe(0);
  });

  it('repeated cuts without progress fail bounded and typed, publish nothing, and keep the partial for a later resume', async () => {
    const { data, digest } = await seed(MIB);
    const fb = new FaultyRangeFallback(source);
    fb.faults = [{ cutAfter: 1000 }];
    fb.always = { cutAfter: 0 };
    const cache = open(fb);
    const err = await cache.get(digest).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_MOTE_FETCH_FAILED', digest, received: 1000 });
    expect((err as Error).cause).toMatchObject({ code: 'ECONNRESET' });
    // The first stream, then five in a row that brought nothing.
    expect(fb.calls.length).toBe(1 + 5);
    expect(fb.calls.slice(1).every((c) => c.method === 'moteReaderFrom' && c.offset === 1000)).toBe(true);
    expect(blobsIn(root)).toEqual([]);
    expect(fs.statSync(partialPath(root, digest)).size).toBe(1000);
    expect(fs.existsSync(lockPath(root, digest))).toBe(false);

    // The fallback recovers: the next read resumes from the kept bytes.
    fb.always = undefined;
    fb.calls.length = 0;
    fb.served = 0;
    expect((await cache.get(digest)).equals(data)).toBe(true);
    expect(fb.calls).toEqual([{ method: 'moteReaderFrom', offset: 1000 }]);
    expect(fb.served).toBe(data.length - 1000);
    expect(fs.existsSync(partialPath(root, digest))).toBe(false);
  });

  it('progress resets the failure count: many cuts that each bring bytes still complete', async () => {
    const { data, digest } = await seed(MIB);
    const fb = new FaultyRangeFallback(source);
    fb.always = { cutAfter: 100_000 };
    const cache = open(fb);
    expect((await cache.get(digest)).equals(data)).toBe(true);
    expect(fb.calls.length).toBe(Math.ceil(data.length / 100_000));
    expect(fb.served).toBe(data.length);
  });

  it('wrong bytes: DigestMismatchError, nothing in blobs/, no partial left', async () => {
    const { digest } = await seed(MIB);
    const fb = new FaultyRangeFallback(source);
    fb.faults = [{ corruptAt: 500_000 }];
    const cache = open(fb);
    await expect(cache.get(digest)).rejects.toBeInstanceOf(DigestMismatchError);
    expect(blobsIn(root)).toEqual([]);
    expect(fs.existsSync(partialPath(root, digest))).toBe(false);
    expect(fs.existsSync(lockPath(root, digest))).toBe(false);
    expect(temporaries(root)).toEqual([]);
    expect(fb.calls.length).toBe(1); // a mismatch is not retried
  });

  it('wrong bytes in the resumed part are caught too', async () => {
    const { digest } = await seed(MIB);
    const fb = new FaultyRangeFallback(source);
    fb.faults = [{ cutAfter: 300_000 }, { corruptAt: 900_000 }];
    const cache = open(fb);
    await expect(cache.get(digest)).rejects.toBeInstanceOf(DigestMismatchError);
    expect(fb.calls.map((c) => c.offset)).toEqual([0, 300_000]);
    expect(blobsIn(root)).toEqual([]);
    expect(fs.existsSync(partialPath(root, digest))).toBe(false);
  });

  it('a stream that ends short is resumed like a cut one', async () => {
    const { data, digest } = await seed(MIB);
    const fb = new FaultyRangeFallback(source);
    fb.faults = [{ endAfter: 400_000 }];
    const cache = open(fb);
    expect((await cache.get(digest)).equals(data)).toBe(true);
    expect(fb.calls.map((c) => c.offset)).toEqual([0, 400_000]);
    expect(fb.served).toBe(data.length);
  });

  it('more bytes than announced: SizeMismatchError, nothing published, no partial', async () => {
    const { digest } = await seed(MIB);
    const fb = new FaultyRangeFallback(source);
    fb.announcedSize = MIB - 10;
    const cache = open(fb);
    const err = await cache.get(digest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeMismatchError);
    expect(blobsIn(root)).toEqual([]);
    expect(fs.existsSync(partialPath(root, digest))).toBe(false);
  });

  it('a fallback without RangeReadable restarts from 0 after a cut', async () => {
    const { data, digest } = await seed(2 * MIB);
    const fb = new FaultyFallback(source);
    expect(isRangeReadable(fb)).toBe(false);
    fb.faults = [{ cutAfter: MIB }];
    const cache = open(fb);
    expect((await cache.get(digest)).equals(data)).toBe(true);
    expect(fb.calls).toEqual([
      { method: 'moteReader', offset: 0 },
      { method: 'moteReader', offset: 0 },
    ]);
    expect(fb.served).toBe(data.length + MIB);
  });

  it('without RangeReadable, repeated cuts at the same place are bounded too', async () => {
    const { digest } = await seed(MIB);
    const fb = new FaultyFallback(source);
    fb.always = { cutAfter: 200_000 };
    const cache = open(fb);
    await expect(cache.get(digest)).rejects.toMatchObject({ code: 'ERR_MOTE_FETCH_FAILED' });
    // The first attempt got further than ever before (progress); five more got no further.
    expect(fb.calls.length).toBe(6);
    expect(blobsIn(root)).toEqual([]);
  });

  it('AbortError and MoteNotFoundError from the fallback are not retried', async () => {
    const { digest } = await seed(1000);
    const fb = new FaultyRangeFallback(source);
    fb.faults = [{ openError: new AbortError() }];
    const cache = open(fb);
    await expect(cache.get(digest)).rejects.toBeInstanceOf(AbortError);
    expect(fb.calls.length).toBe(1);
    fb.faults = [{ openError: new MoteNotFoundError(digest, 'gone') }];
    await expect(cache.get(digest)).rejects.toBeInstanceOf(MoteNotFoundError);
    expect(fb.calls.length).toBe(2);
    expect(blobsIn(root)).toEqual([]);
  });

  it('a partial left on disk is hashed, then resumed from its length', async () => {
    const { data, digest } = await seed(2 * MIB + 5);
    fs.mkdirSync(path.dirname(partialPath(root, digest)), { recursive: true });
    fs.writeFileSync(partialPath(root, digest), data.subarray(0, 700_001));
    const fb = new FaultyRangeFallback(source);
    const cache = open(fb);
    expect((await cache.get(digest)).equals(data)).toBe(true);
    expect(fb.calls).toEqual([{ method: 'moteReaderFrom', offset: 700_001 }]);
    expect(fb.served).toBe(data.length - 700_001);
  });

  it('a complete partial is published without reading the fallback at all', async () => {
    const { data, digest } = await seed(300_000);
    fs.mkdirSync(path.dirname(partialPath(root, digest)), { recursive: true });
    fs.writeFileSync(partialPath(root, digest), data);
    const fb = new FaultyRangeFallback(source);
    const cache = open(fb);
    expect((await cache.get(digest)).equals(data)).toBe(true);
    expect(fb.calls).toEqual([]);
  });

  it('a partial whose bytes on disk are wrong: restarted from 0 once (not blamed on the fallback), then published right', async () => {
    const { data, digest } = await seed(MIB);
    const bad = Buffer.from(data.subarray(0, 500_000));
    bad[1234] = bad[1234]! ^ 1;
    fs.mkdirSync(path.dirname(partialPath(root, digest)), { recursive: true });
    fs.writeFileSync(partialPath(root, digest), bad);
    const fb = new FaultyRangeFallback(source);
    const cache = open(fb);
    expect((await cache.get(digest)).equals(data)).toBe(true);
    expect(fb.calls).toEqual([
      { method: 'moteReaderFrom', offset: 500_000 },
      { method: 'moteReaderFrom', offset: 0 },
    ]);
    expect(blobsIn(root)).toEqual([hexOf(digest)]);
    expect(fs.existsSync(partialPath(root, digest))).toBe(false);
    expect(temporaries(root)).toEqual([]);
  });

  it('a wrong partial, then a fallback that is wrong too: DigestMismatchError after exactly one restart, nothing published', async () => {
    const { data, digest } = await seed(MIB);
    const bad = Buffer.from(data.subarray(0, 500_000));
    bad[10] = bad[10]! ^ 1;
    fs.mkdirSync(path.dirname(partialPath(root, digest)), { recursive: true });
    fs.writeFileSync(partialPath(root, digest), bad);
    const fb = new FaultyRangeFallback(source);
    fb.always = { corruptAt: 700_000 };
    const cache = open(fb);
    await expect(cache.get(digest)).rejects.toBeInstanceOf(DigestMismatchError);
    expect(fb.calls.map((c) => c.method)).toEqual(['moteReaderFrom', 'moteReaderFrom']);
    expect(blobsIn(root)).toEqual([]);
    expect(fs.existsSync(partialPath(root, digest))).toBe(false);
  });

  it('a partial longer than the mote: SizeMismatchError, removed, fallback never read', async () => {
    const { data, digest } = await seed(1000);
    fs.mkdirSync(path.dirname(partialPath(root, digest)), { recursive: true });
    fs.writeFileSync(partialPath(root, digest), Buffer.concat([data, Buffer.from('extra')]));
    const fb = new FaultyRangeFallback(source);
    const cache = open(fb);
    await expect(cache.get(digest)).rejects.toBeInstanceOf(SizeMismatchError);
    expect(fb.calls).toEqual([]);
    expect(fs.existsSync(partialPath(root, digest))).toBe(false);
    expect(blobsIn(root)).toEqual([]);
  });

  it('concurrent readers through two instances on one root share one download and all hear progress', async () => {
    const { data, digest } = await seed(2 * MIB);
    const fb = new FaultyRangeFallback(source);
    const heard = [0, 0];
    const a = open(fb, { onFallbackProgress: () => heard[0]!++ });
    const b = open(fb, { onFallbackProgress: () => heard[1]!++ });
    const bodies = await Promise.all([a, b, a, b, a, b].map(async (c) => readAll(await c.moteReader(digest))));
    for (const body of bodies) expect(body.equals(data)).toBe(true);
    expect(fb.calls.length).toBe(1);
    expect(heard[0]).toBeGreaterThan(0);
    expect(heard[1]).toBeGreaterThan(0);
  });

  it('errors the fallback already retried are not retried again, opening or mid-stream; an interruption mid-stream is resumed', async () => {
    const { data, digest } = await seed(MIB);
    const fb = new FaultyRangeFallback(source);
    const cache = open(fb);
    for (const code of ['ERR_REGISTRY_AUTH', 'ERR_REGISTRY_UNAVAILABLE', 'ERR_REGISTRY_RATE_LIMITED', 'ERR_MOTE_FETCH_FAILED']) {
      fb.calls.length = 0;
      // As the real typed errors do, each says what kind of failure it is: refused, or already retried upstream.
      const category = code === 'ERR_REGISTRY_AUTH' ? 'denied' : 'unavailable';
      fb.faults = [{ openError: Object.assign(new Error(`refused (${code})`), { code, category }) }];
      await expect(cache.get(digest)).rejects.toMatchObject({ code });
      expect(fb.calls.length, code).toBe(1);
    }
    // Mid-stream too (a registry body under its minimum transfer rate: resuming a trickle would never end); the
    // bytes received are good and stay for a later resume.
    fb.calls.length = 0;
    const slow = Object.assign(new Error('too slow (ERR_REGISTRY_TOO_SLOW)'), { code: 'ERR_REGISTRY_TOO_SLOW', category: 'unavailable' });
    fb.faults = [{ cutAfter: 200_000, cutError: slow }];
    await expect(cache.get(digest)).rejects.toMatchObject({ code: 'ERR_REGISTRY_TOO_SLOW' });
    expect(fb.calls).toEqual([{ method: 'moteReaderFrom', offset: 0 }]);
    expect(fs.statSync(partialPath(root, digest)).size).toBe(200_000);
    fb.calls.length = 0;
    expect((await cache.get(digest)).equals(data)).toBe(true);
    expect(fb.calls).toEqual([{ method: 'moteReaderFrom', offset: 200_000 }]);
    await cache.removeMote(digest);
    // A short body mid-stream (a registry's ERR_REGISTRY_PROTOCOL) is an interruption: resumed.
    fb.calls.length = 0;
    fb.faults = [{ endAfter: 300_000 }];
    expect((await cache.get(digest)).equals(data)).toBe(true);
    expect(fb.calls.map((c) => c.offset)).toEqual([0, 300_000]);
    expect(blobsIn(root)).toEqual([hexOf(digest)]);
  });

  it("the fallback's NoSpaceError fails the read but keeps our valid partial for a resume", async () => {
    const { data, digest } = await seed(MIB);
    const fb = new FaultyRangeFallback(source);
    fb.faults = [{ cutAfter: 400_000 }, { openError: new NoSpaceError('/elsewhere', new Error('ENOSPC')) }];
    const cache = open(fb);
    await expect(cache.get(digest)).rejects.toBeInstanceOf(NoSpaceError);
    expect(fs.statSync(partialPath(root, digest)).size).toBe(400_000);
    expect((await cache.get(digest)).equals(data)).toBe(true);
    expect(fb.calls.at(-1)).toEqual({ method: 'moteReaderFrom', offset: 400_000 });
  });

  it('size unknown: a complete partial is published without any request; an incomplete one is resumed', async () => {
    const { data, digest } = await seed(300_000);
    fs.mkdirSync(path.dirname(partialPath(root, digest)), { recursive: true });
    fs.writeFileSync(partialPath(root, digest), data);
    const fb = new FaultyRangeFallback(source);
    fb.announcedSize = -1;
    const cache = open(fb);
    expect((await cache.get(digest)).equals(data)).toBe(true);
    expect(fb.calls).toEqual([]);

    const other = await seed(300_000);
    fs.writeFileSync(partialPath(root, other.digest), other.data.subarray(0, 100_000));
    expect((await cache.get(other.digest)).equals(other.data)).toBe(true);
    expect(fb.calls).toEqual([{ method: 'moteReaderFrom', offset: 100_000 }]);
  });

  it('two instances on one root with different fallbacks do not share a flight: the one whose fallback has the mote gets it', async () => {
    const { data, digest } = await seed(2 * MIB);
    const empty = new FileMoteCache(path.join(root, '..', `empty-${n}`), { durable: false });
    opened.push(empty);
    const fb = new FaultyRangeFallback(source);
    const withIt = open(fb);
    const without = open(empty);
    const [a, b] = await Promise.allSettled([without.get(digest), withIt.get(digest)]);
    expect(b.status === 'fulfilled' && b.value.equals(data)).toBe(true);
    // The one without: either not found by its own fallback, or it found the blob the other one published.
    if (a.status === 'rejected') expect(a.reason).toBeInstanceOf(MoteNotFoundError);
    else expect(a.value.equals(data)).toBe(true);
    expect(fb.calls.length).toBe(1);
    expect(blobsIn(root)).toEqual([hexOf(digest)]);
  });

  it('a size known from a manifest bounds the download: a source sending more is stopped at the first chunk too many, and not asked for the size', async () => {
    const { digest } = await seed(4 * MIB);
    const fb = new FaultyRangeFallback(source);
    let finds = 0;
    const find = fb.find.bind(fb);
    fb.find = async (d: string) => (finds++, find(d));
    fb.announcedSize = 4 * MIB; // what the source claims, never asked
    const local = new FileMoteCache(root, { durable: false });
    opened.push(local);
    const cache = new PullThroughCache(local, fb);
    const err = await cache.fetch(digest, { size: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeMismatchError);
    expect(err).toMatchObject({ expected: 1000, actual: 64 * 1024 });
    expect(finds).toBe(0);
    expect(fb.served).toBeLessThanOrEqual(2 * 64 * 1024); // one chunk, and at most one more already in flight
    expect(blobsIn(root)).toEqual([]);
    expect(fs.existsSync(partialPath(root, digest))).toBe(false);
    expect(temporaries(root)).toEqual([]);
  });

  it('a size and media type known from a manifest: fetched without asking the source, recorded with that media type', async () => {
    const { data, digest } = await seed(MIB + 3);
    const fb = new FaultyRangeFallback(source);
    let finds = 0;
    const find = fb.find.bind(fb);
    fb.find = async (d: string) => (finds++, find(d));
    const local = new FileMoteCache(root, { durable: false });
    opened.push(local);
    await new PullThroughCache(local, fb).fetch(digest, { size: data.length, mediaType: 'application/vnd.oci.image.layer.v1.tar' });
    expect(finds).toBe(0);
    expect(await local.find(digest)).toEqual({ digest, size: data.length, mediaType: 'application/vnd.oci.image.layer.v1.tar' });
    expect((await local.get(digest)).equals(data)).toBe(true);
    // A wrong size from the manifest is the manifest's lie: the download fails short, nothing is published.
    const other = await seed(MIB);
    const err = await new PullThroughCache(local, fb).fetch(other.digest, { size: MIB + 1 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_MOTE_FETCH_FAILED' });
    expect(fs.existsSync(local.moteRef(other.digest))).toBe(false);
  });

  it('a media type known from a manifest is recorded for a mote already here without one, and a known one is kept', async () => {
    const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
    // Read through without a type first (the source, a registry, keeps none): the store knows no media type.
    const untyped = async (size: number): Promise<{ data: Buffer; digest: string }> => {
      const data = randomData(size);
      return { data, digest: (await source.put(data)).digest };
    };
    const { data, digest } = await untyped(100_000);
    const local = new FileMoteCache(root, { durable: false });
    opened.push(local);
    const cache = new PullThroughCache(local, source);
    expect((await readAll(await cache.moteReader(digest))).equals(data)).toBe(true);
    expect((await local.find(digest))?.mediaType).toBe('application/octet-stream');
    // A fetch that finds it present downloads nothing but fills the type in; another type later does not replace it.
    await cache.fetch(digest, { size: data.length, mediaType: LAYER });
    expect(await local.find(digest)).toEqual({ digest, size: data.length, mediaType: LAYER });
    await cache.fetch(digest, { size: data.length, mediaType: 'application/vnd.other' });
    await cache.fetch(digest);
    expect((await local.find(digest))?.mediaType).toBe(LAYER);
    expect(await new FileMoteCache(root).find(digest)).toEqual({ digest, size: data.length, mediaType: LAYER });

    // A fetch with a type that joins a flight started by a read without one: the joiner's type is recorded.
    const second = await untyped(MIB + 7);
    const [read] = await Promise.all([cache.moteReader(second.digest).then(readAll), cache.fetch(second.digest, { size: second.data.length, mediaType: LAYER })]);
    expect(read.equals(second.data)).toBe(true);
    expect((await local.find(second.digest))?.mediaType).toBe(LAYER);
  });

  it('partial bytes are not store bytes: stats counts them apart; prune reclaims a failed download\'s partial', async () => {
    const { digest } = await seed(MIB);
    const fb = new FaultyRangeFallback(source);
    fb.always = { cutAfter: 0 };
    fb.faults = [{ cutAfter: 500_000 }];
    const cache = open(fb);
    await expect(cache.get(digest)).rejects.toMatchObject({ code: 'ERR_MOTE_FETCH_FAILED' });
    expect(await cache.stats()).toEqual({ count: 0, bytes: 0, partialBytes: 500_000 });
    await cache.initialize(); // the age-based sweep of first use keeps it for a resume
    expect(fs.statSync(partialPath(root, digest)).size).toBe(500_000);
    // Prune is asked to give space back: nobody holds this download any more (its lock was released on failure).
    expect(await cache.prune(0)).toMatchObject({ removed: 0, freedBytes: 0, remainingBytes: 0 });
    expect(fs.existsSync(partialPath(root, digest))).toBe(false);
    expect(await cache.stats()).toEqual({ count: 0, bytes: 0, partialBytes: 0 });
  });
});

describe('PullThroughCache over a store that has a fallback of its own', () => {
  it('fetches a miss from its source into the store, not through the store\'s fallback; the store\'s own reads still use it', async () => {
    const scratch = makeTempDir('motecache-pt-chain-');
    const opened: FileMoteCache[] = [];
    try {
      const open = (name: string, extra: FileMoteCacheOptions = {}): FileMoteCache => {
        const c = new FileMoteCache(path.join(scratch.dir, name), { durable: false, ...extra });
        opened.push(c);
        return c;
      };
      const upstream = open('upstream');
      const source = open('source');
      const data = randomData(300_000);
      const { digest } = await source.put(data);
      await upstream.put(data);
      const local = open('local', { fallback: upstream }); // reads through upstream, keeps nothing
      const cache = new PullThroughCache(local, source);
      expect((await readAll(await cache.moteReader(digest))).equals(data)).toBe(true);
      // Kept in the local store (fetched from `source`), as the decorator promises.
      expect(fs.existsSync(local.moteRef(digest))).toBe(true);
      expect(await local.stats()).toEqual({ count: 1, bytes: data.length, partialBytes: 0 });
      // The store used directly still reads through its own fallback for what it lacks.
      const other = randomData(1000);
      const { digest: onlyUpstream } = await upstream.put(other);
      expect((await local.get(onlyUpstream)).equals(other)).toBe(true);
      expect(fs.existsSync(local.moteRef(onlyUpstream))).toBe(false);
    } finally {
      for (const c of opened) await c.close();
      scratch.cleanup();
    }
  });
});

describe('sweeping abandoned downloads', () => {
  let scratch: { dir: string; cleanup: () => void };
  let sleeper: ChildProcess | undefined;
  beforeAll(() => {
    scratch = makeTempDir('motecache-populate-sweep-');
  });
  afterAll(() => {
    sleeper?.kill('SIGKILL');
    scratch.cleanup();
  });

  const writeLock = (root: string, digest: string, pid: number): void => {
    fs.mkdirSync(path.join(root, '.mote', 'fetch'), { recursive: true });
    fs.writeFileSync(lockPath(root, digest), JSON.stringify({ pid, host: os.hostname(), ...nsAndBoot(), token: `t${pid}`, since: Date.now() }));
  };
  const writePartial = (root: string, digest: string, bytes = 1000): void => {
    fs.mkdirSync(path.join(root, '.mote', 'partial'), { recursive: true });
    fs.writeFileSync(partialPath(root, digest), randomData(bytes));
  };

  it('initialize() removes a stale partial without a lock, and one whose holder is dead (with its lock); keeps a partial under a live lock', async () => {
    const root = path.join(scratch.dir, 'cache');
    const [noLock, deadLock, liveLock] = ['a', 'b', 'c'].map((s) => sha256(Buffer.from(s)));
    writePartial(root, noLock!);
    writePartial(root, deadLock!);
    writeLock(root, deadLock!, deadPid());
    sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    writePartial(root, liveLock!);
    writeLock(root, liveLock!, sleeper.pid!);

    // Fresh partials survive a sweep with the default age.
    const patient = new FileMoteCache(root);
    await patient.initialize();
    await patient.close();
    for (const d of [noLock, deadLock, liveLock]) expect(fs.existsSync(partialPath(root, d!))).toBe(true);

    const eager = new FileMoteCache(root, { staleAfterMs: 0 });
    await eager.initialize();
    expect(fs.existsSync(partialPath(root, noLock!))).toBe(false);
    expect(fs.existsSync(partialPath(root, deadLock!))).toBe(false);
    expect(fs.existsSync(lockPath(root, deadLock!))).toBe(false);
    expect(fs.existsSync(partialPath(root, liveLock!))).toBe(true);
    expect(fs.existsSync(lockPath(root, liveLock!))).toBe(true);
    // verify() sweeps the same way, and counts what it removed.
    writePartial(root, noLock!);
    expect((await eager.verify()).sweptTemporaries).toBe(1);
    expect(fs.existsSync(partialPath(root, liveLock!))).toBe(true);
    await eager.close();
    expect(temporaries(root)).toEqual([]);
  });

  it('a lock nobody touched for staleAfterMs is swept with its partial even if its pid looks alive', async () => {
    const root = path.join(scratch.dir, 'cache-stale');
    const d = sha256(Buffer.from('stale'));
    writePartial(root, d);
    writeLock(root, d, process.ppid); // alive, not ours, and its heartbeat stopped long ago
    const old = new Date(Date.now() - 3_600_000);
    fs.utimesSync(lockPath(root, d), old, old);
    const c = new FileMoteCache(root, { staleAfterMs: 60_000 });
    await c.initialize();
    await c.close();
    expect(fs.existsSync(lockPath(root, d))).toBe(false);
    expect(fs.existsSync(partialPath(root, d))).toBe(false);
  });
});

describe('populate across processes', () => {
  let scratch: { dir: string; cleanup: () => void };
  let source: FileMoteCache;
  beforeAll(() => {
    scratch = makeTempDir('motecache-populate-mp-');
    source = new FileMoteCache(path.join(scratch.dir, 'source'), { durable: false });
  });
  afterAll(async () => {
    killLiveChildren();
    await source.close();
    scratch.cleanup();
  });

  interface LogLine {
    pid: number;
    method: 'moteReader' | 'moteReaderFrom';
    digest: string;
    offset: number;
    ev: 'open' | 'end';
    bytes?: number;
  }
  interface ChildReport {
    pid: number;
    results: Array<{ digest: string; actual?: string; size?: number; error?: { code?: string; message: string } }>;
  }
  const readLog = (p: string): LogLine[] =>
    fs.existsSync(p)
      ? fs
          .readFileSync(p, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as LogLine)
      : [];
  const child = (cfg: Record<string, unknown>) => startChild('populate-child.mjs', [JSON.stringify({ src: source.root, ...cfg })]);

  it('four processes reading the same three motes: exactly one download per digest, everyone gets the right bytes', async () => {
    const root = path.join(scratch.dir, 'cache-four');
    const log = path.join(scratch.dir, 'four.log');
    const digests: string[] = [];
    for (let i = 0; i < 3; i++) digests.push((await source.put(randomData(8 * MIB))).digest);
    // ~1 s per mote: everybody starts while the first downloads are still running.
    const children = Array.from({ length: 4 }, () => child({ root, digests, log, bytesPerSec: 8 * MIB, waitGo: true }));
    await Promise.all(children.map((c) => c.waitForLine('READY')));
    for (const c of children) sendGo(c);
    const results = await Promise.all(children.map((c) => c.done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    for (const rep of results.map((r) => lastJson<ChildReport>(r))) {
      for (const res of rep.results) {
        expect(res.error).toBeUndefined();
        expect(res.actual).toBe(res.digest);
        expect(res.size).toBe(8 * MIB);
      }
    }
    const opens = readLog(log).filter((l) => l.ev === 'open');
    expect(opens.map((l) => l.digest).sort()).toEqual([...digests].sort());
    for (const o of opens) expect(o).toMatchObject({ method: 'moteReaderFrom', offset: 0 });
    const served = readLog(log).filter((l) => l.ev === 'end').reduce((s, l) => s + l.bytes!, 0);
    expect(served).toBe(3 * 8 * MIB);
    expect(blobsIn(root).sort()).toEqual(digests.map(hexOf).sort());
    expect(fs.readdirSync(path.join(root, '.mote', 'fetch'))).toEqual([]);
    expect(fs.readdirSync(path.join(root, '.mote', 'partial'))).toEqual([]);
    expect(temporaries(root)).toEqual([]);
  });

  /** Starts a child downloading `digest` slowly and waits until its partial holds at least `atLeast` bytes. */
  async function holderMidDownload(root: string, digest: string, log: string, atLeast: number) {
    const holder = child({ root, digests: [digest], log, bytesPerSec: 4 * MIB, waitGo: false });
    await holder.waitForLine('STARTED');
    await pollUntil(() => (fs.statSync(partialPath(root, digest), { throwIfNoEntry: false })?.size ?? 0) >= atLeast || undefined, 20_000, 'the holder to download', 20);
    return holder;
  }

  async function killed(c: { child: ChildProcess; done: Promise<ChildResult> }): Promise<void> {
    c.child.kill('SIGKILL');
    const r = await c.done;
    expect(r.signal).toBe('SIGKILL');
  }

  it('SIGKILL mid-download leaves a partial (never a blob); the next process resumes from its length', async () => {
    const root = path.join(scratch.dir, 'cache-kill');
    const log = path.join(scratch.dir, 'kill.log');
    const data = randomData(16 * MIB);
    const { digest } = await source.put(data);
    const holder = await holderMidDownload(root, digest, log, 2 * MIB);
    // A sweep while the holder works leaves its partial and lock alone, whatever the age limit.
    const sweeper = new FileMoteCache(root, { staleAfterMs: 0 });
    await sweeper.initialize();
    await sweeper.close();
    expect(fs.existsSync(partialPath(root, digest))).toBe(true);
    expect(fs.existsSync(lockPath(root, digest))).toBe(true);
    await killed(holder);

    expect(blobsIn(root)).toEqual([]);
    const kept = fs.statSync(partialPath(root, digest)).size;
    expect(kept).toBeGreaterThanOrEqual(2 * MIB);
    expect(kept).toBeLessThan(data.length);
    expect(fs.existsSync(lockPath(root, digest))).toBe(true); // the dead holder's lock, taken over below

    const fb = new FaultyRangeFallback(source);
    const cache = new FileMoteCache(root, { fallback: fb, populateFromFallback: true });
    try {
      expect(sha256(await cache.get(digest))).toBe(digest);
    } finally {
      await cache.close();
    }
    expect(fb.calls).toEqual([{ method: 'moteReaderFrom', offset: kept }]);
    expect(fb.served).toBe(data.length - kept);
    expect(blobsIn(root)).toEqual([hexOf(digest)]);
    expect(fs.existsSync(partialPath(root, digest))).toBe(false);
    expect(fs.existsSync(lockPath(root, digest))).toBe(false);
  });

  it('a partial tampered with on disk after the kill: caught on resume, restarted from 0 once, the right bytes published', async () => {
    const root = path.join(scratch.dir, 'cache-tamper');
    const log = path.join(scratch.dir, 'tamper.log');
    const data = randomData(16 * MIB);
    const { digest } = await source.put(data);
    const holder = await holderMidDownload(root, digest, log, 2 * MIB);
    await killed(holder);
    const fd = fs.openSync(partialPath(root, digest), 'r+');
    fs.writeSync(fd, Buffer.from([0x42, 0x42, 0x42]), 0, 3, 1_000_000);
    fs.closeSync(fd);

    const fb = new FaultyRangeFallback(source);
    const cache = new FileMoteCache(root, { fallback: fb, populateFromFallback: true });
    try {
      expect((await cache.get(digest)).equals(data)).toBe(true);
      expect(fb.calls.map((c) => c.method)).toEqual(['moteReaderFrom', 'moteReaderFrom']);
      expect(blobsIn(root)).toEqual([hexOf(digest)]);
      expect(fs.existsSync(partialPath(root, digest))).toBe(false);
    } finally {
      await cache.close();
    }
  });

  it('a waiting process takes over when the holder is killed, and resumes from its partial', async () => {
    const root = path.join(scratch.dir, 'cache-takeover');
    const log = path.join(scratch.dir, 'takeover.log');
    const { digest } = await source.put(randomData(16 * MIB));
    const holder = await holderMidDownload(root, digest, log, MIB);
    const waiter = child({ root, digests: [digest], log, bytesPerSec: 64 * MIB, waitGo: false });
    await waiter.waitForLine('STARTED');
    // The waiter only waits: no read of its own while the holder lives.
    await new Promise((r) => setTimeout(r, 300));
    expect(readLog(log).filter((l) => l.ev === 'open').map((l) => l.pid)).toEqual([holder.child.pid]);
    await killed(holder);
    const r = await waiter.done;
    expect(r.code, r.stderr).toBe(0);
    const rep = lastJson<ChildReport>(r);
    expect(rep.results[0]).toMatchObject({ digest, actual: digest, size: 16 * MIB });
    const opens = readLog(log).filter((l) => l.ev === 'open');
    expect(opens).toHaveLength(2);
    expect(opens[0]).toMatchObject({ pid: holder.child.pid, method: 'moteReaderFrom', offset: 0 });
    expect(opens[1]).toMatchObject({ pid: waiter.child.pid, method: 'moteReaderFrom' });
    expect(opens[1]!.offset).toBeGreaterThanOrEqual(MIB);
    expect(blobsIn(root)).toEqual([hexOf(digest)]);
    expect(fs.readdirSync(path.join(root, '.mote', 'partial'))).toEqual([]);
  });

  /** Sets MOTECACHE_FETCH_LOCK_STALE_MS for this process and the children it starts, until the returned undo. */
  function shortStale(ms: number): () => void {
    const before = process.env.MOTECACHE_FETCH_LOCK_STALE_MS;
    process.env.MOTECACHE_FETCH_LOCK_STALE_MS = String(ms);
    return () => {
      if (before === undefined) delete process.env.MOTECACHE_FETCH_LOCK_STALE_MS;
      else process.env.MOTECACHE_FETCH_LOCK_STALE_MS = before;
    };
  }

  /** Every file that appears in blobs/ while the watcher runs, hashed: its name must be its digest. */
  function watchBlobs(root: string): { stop: () => Promise<string[]> } {
    const seen = new Map<string, boolean>();
    let running = true;
    const loop = (async () => {
      while (running) {
        for (const name of blobsIn(root)) {
          const p = path.join(root, 'blobs', 'sha256', name);
          let key: string;
          try {
            key = `${name}@${fs.statSync(p).ino}`;
          } catch {
            continue;
          }
          if (seen.has(key)) continue;
          try {
            seen.set(key, hexOf(sha256(fs.readFileSync(p))) === name);
          } catch {
            /* removed meanwhile */
          }
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        return [...seen].filter(([, ok]) => !ok).map(([k]) => k);
      },
    };
  }

  for (const variant of ['a dead pid in our pid namespace', 'another pid namespace, never touched'] as const) {
    it(`a holder wrongly judged gone (${variant}) keeps truncating and scribbling on its partial: what we publish is right`, async () => {
      const root = path.join(scratch.dir, `cache-rogue-${variant.length}`);
      const data = randomData(12 * MIB);
      const { digest } = await source.put(data);
      const prefixFile = path.join(scratch.dir, `prefix-${variant.length}`);
      fs.writeFileSync(prefixFile, data.subarray(0, 6 * MIB));
      const lock = {
        pid: variant.startsWith('a dead') ? deadPid() : process.pid,
        thread: 0,
        host: os.hostname(),
        ...nsAndBoot(),
        token: 'rogue',
        since: Date.now(),
        ...(variant.startsWith('another') ? { ns: 'pid:[4026531999]' } : {}),
      };
      const undo = shortStale(800);
      const watcher = watchBlobs(root);
      try {
        const rogue = startChild('populate-rogue.mjs', [JSON.stringify({ root, digest, prefixFile, lock, abuseMs: 4_000 })]);
        await rogue.waitForLine('READY');
        const fb = new FaultyRangeFallback(source);
        const cache = new FileMoteCache(root, { fallback: fb, populateFromFallback: true, durable: false });
        try {
          const got = await cache.get(digest).catch((e: unknown) => e);
          // Right bytes, or a typed failure; never wrong bytes.
          if (got instanceof Buffer) expect(got.equals(data)).toBe(true);
          else expect(got).toMatchObject({ code: expect.stringMatching(/^ERR_MOTE_/) });
        } finally {
          await cache.close();
        }
        const r = await rogue.done;
        expect(r.code, r.stderr).toBe(0);
        const { ino, rounds } = lastJson<{ ino: number; rounds: number }>(r);
        expect(rounds).toBeGreaterThan(100);
        // After the rogue is done too: the blob (if any) is right and is not the rogue's inode.
        for (const name of blobsIn(root)) {
          const p = path.join(root, 'blobs', 'sha256', name);
          expect(sha256(fs.readFileSync(p))).toBe(digest);
          expect(fs.statSync(p).ino).not.toBe(ino);
        }
        expect(blobsIn(root)).toEqual([hexOf(digest)]);
      } finally {
        expect(await watcher.stop()).toEqual([]);
        undo();
      }
    });
  }

  it('a frozen holder (SIGSTOP) is taken over after LOCK_STALE_MS; woken up, it neither corrupts nor publishes anything', async () => {
    const root = path.join(scratch.dir, 'cache-frozen');
    const log = path.join(scratch.dir, 'frozen.log');
    const data = randomData(16 * MIB);
    const { digest } = await source.put(data);
    const undo = shortStale(1_500);
    const watcher = watchBlobs(root);
    try {
      const holder = await holderMidDownload(root, digest, log, MIB);
      holder.child.kill('SIGSTOP');
      const frozenAt = Date.now();
      const fb = new FaultyRangeFallback(source);
      const cache = new FileMoteCache(root, { fallback: fb, populateFromFallback: true, durable: false });
      let ino: number;
      try {
        expect((await cache.get(digest)).equals(data)).toBe(true);
        ino = fs.statSync(cache.moteRef(digest)).ino;
      } finally {
        await cache.close();
      }
      expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(1_500); // waited for the heartbeat to go stale
      expect(fb.calls).toHaveLength(1);
      expect(fb.calls[0]!.method).toBe('moteReaderFrom'); // resumed from a copy of the frozen holder's partial
      holder.child.kill('SIGCONT');
      const r = await holder.done;
      expect(r.code, r.stderr).toBe(0);
      expect(lastJson<ChildReport>(r).results[0]).toMatchObject({ digest, actual: digest, size: data.length });
      expect(fs.statSync(path.join(root, 'blobs', 'sha256', hexOf(digest))).ino).toBe(ino);
      expect(sha256(fs.readFileSync(path.join(root, 'blobs', 'sha256', hexOf(digest))))).toBe(digest);
      expect(fs.readdirSync(path.join(root, '.mote', 'partial'))).toEqual([]);
      expect(fs.readdirSync(path.join(root, '.mote', 'fetch'))).toEqual([]);
    } finally {
      expect(await watcher.stop()).toEqual([]);
      undo();
    }
  });

  it('a dead holder and two waiting processes: exactly one takes over, the other waits, one download after the kill', async () => {
    const root = path.join(scratch.dir, 'cache-two-waiters');
    const log = path.join(scratch.dir, 'two-waiters.log');
    const { digest } = await source.put(randomData(16 * MIB));
    const holder = await holderMidDownload(root, digest, log, MIB);
    const waiters = [0, 1].map(() => child({ root, digests: [digest], log, bytesPerSec: 32 * MIB, waitGo: false }));
    await Promise.all(waiters.map((w) => w.waitForLine('STARTED')));
    await new Promise((r) => setTimeout(r, 200));
    await killed(holder);
    const results = await Promise.all(waiters.map((w) => w.done));
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      expect(lastJson<ChildReport>(r).results[0]).toMatchObject({ digest, actual: digest, size: 16 * MIB });
    }
    const opens = readLog(log).filter((l) => l.ev === 'open');
    expect(opens).toHaveLength(2);
    expect(opens[0]!.pid).toBe(holder.child.pid);
    expect(waiters.map((w) => w.child.pid)).toContain(opens[1]!.pid);
    expect(opens[1]).toMatchObject({ method: 'moteReaderFrom' });
    expect(blobsIn(root)).toEqual([hexOf(digest)]);
  });

  it('two copies of the package in one process: each sees the other copy\'s lock as live, one download, no takeover', async () => {
    const root = path.join(scratch.dir, 'cache-copies');
    const log = path.join(scratch.dir, 'copies.log');
    const repo = path.resolve(import.meta.dirname, '../..');
    const dists = ['a', 'b'].map((x) => {
      const dir = path.join(scratch.dir, `copy-${x}`);
      fs.cpSync(path.join(repo, 'dist'), path.join(dir, 'dist'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
      fs.symlinkSync(path.join(repo, 'node_modules'), path.join(dir, 'node_modules'));
      return path.join(dir, 'dist');
    });
    const digests: string[] = [];
    for (let i = 0; i < 2; i++) digests.push((await source.put(randomData(4 * MIB))).digest);
    const r = await startChild('populate-copies.mjs', [JSON.stringify({ root, src: source.root, dists, digests, log, bytesPerSec: 8 * MIB })]).done;
    expect(r.code, r.stderr).toBe(0);
    const rep = lastJson<{ results: ChildReport['results'][] }>(r);
    for (const copy of rep.results) for (const res of copy) expect(res).toMatchObject({ actual: res.digest, size: 4 * MIB });
    const opens = readLog(log).filter((l) => l.ev === 'open');
    expect(opens.map((l) => l.digest).sort()).toEqual([...digests].sort());
    for (const o of opens) expect(o).toMatchObject({ method: 'moteReaderFrom', offset: 0 });
  });

  it('SIGKILL at random points of download and publish: no wrong file ever appears in blobs/, the last run completes', async () => {
    const root = path.join(scratch.dir, 'cache-random-kill');
    const log = path.join(scratch.dir, 'random-kill.log');
    const data = randomData(4 * MIB);
    const { digest } = await source.put(data);
    const watcher = watchBlobs(root);
    try {
      for (let i = 0; i < 8 && blobsIn(root).length === 0; i++) {
        const c = child({ root, digests: [digest], log, bytesPerSec: 16 * MIB, waitGo: false });
        await c.waitForLine('STARTED');
        await new Promise((r) => setTimeout(r, Math.random() * 300));
        c.child.kill('SIGKILL');
        await c.done;
      }
      const last = await child({ root, digests: [digest], log, bytesPerSec: 64 * MIB, waitGo: false }).done;
      expect(last.code, last.stderr).toBe(0);
      expect(lastJson<ChildReport>(last).results[0]).toMatchObject({ digest, actual: digest });
      expect(sha256(fs.readFileSync(path.join(root, 'blobs', 'sha256', hexOf(digest))))).toBe(digest);
    } finally {
      expect(await watcher.stop()).toEqual([]);
    }
  });
});
