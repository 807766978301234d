/**
 * The MoteCache conformance suite: the whole contract (read, write and manage roles together), run by every store
 * and configuration (as containerd runs one content-store suite against each store). Stores keep what they are
 * given; a store that keeps nothing (NilCache, `keepsContent: false`) is held to that contract instead. The read
 * role alone has its own suite (mote-provider.ts), which every store also runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import {
  CommitMode,
  DigestMismatchError,
  InvalidDigestError,
  MoteNotFoundError,
  SizeMismatchError,
  digestOf,
  type MoteCache,
} from '../../src/index.js';
import { BAD_DIGESTS } from '../helpers/bad-digests.js';
import { chunked, makeTempDir, randomData, readAll, temporaries } from '../helpers/tmp.js';

export interface Harness {
  cache: MoteCache;
  /** The store root, for file-backed caches (to check temporaries). */
  root?: string;
  /** Puts bytes into the fallback, when the configuration has one. */
  seedFallback?: (data: Buffer, mediaType: string) => Promise<string>;
  /** How many times the fallback's readers were opened. */
  fallbackReads?: () => number;
  /** A fresh instance on the same root (a "restart"), for persistent caches. */
  reopen?: () => Promise<MoteCache>;
  cleanup: () => Promise<void>;
}

export interface ConformanceOptions {
  /** False for a store that keeps nothing (NilCache). */
  keepsContent: boolean;
  populatesFromFallback?: boolean;
}

async function write(cache: MoteCache, data: Buffer, mediaType = 'application/vnd.test+bytes'): Promise<string> {
  const d = digestOf(data);
  await cache.createMote(d, mediaType, data.length);
  await pipeline(chunked(data, 1000), await cache.moteWriter(d));
  return d;
}

export function moteCacheConformance(name: string, make: (scratch: string) => Promise<Harness>, opts: ConformanceOptions): void {
  const store = opts.keepsContent;
  describe(`MoteCache conformance: ${name}`, () => {
    let h: Harness;
    let scratch: { dir: string; cleanup: () => void };
    beforeEach(async () => {
      scratch = makeTempDir();
      h = await make(scratch.dir);
      await h.cache.initialize();
    });
    afterEach(async () => {
      await h.cleanup();
      scratch.cleanup();
    });

    it('initialize is idempotent', async () => {
      await h.cache.initialize();
      await h.cache.initialize();
      expect(await h.cache.moteExists(digestOf('never written'))).toBe(false);
    });

    describe('rejects bad digests before touching the disk', () => {
      for (const [label, bad] of BAD_DIGESTS) {
        it(label, async () => {
          const d = bad as string;
          const calls: Array<[string, () => unknown]> = [
            ['moteExists', () => h.cache.moteExists(d)],
            ['find', () => h.cache.find(d)],
            ['moteRef', () => h.cache.moteRef(d)],
            ['createMote', () => h.cache.createMote(d, 'x', 1)],
            ['moteWriter', () => h.cache.moteWriter(d)],
            ['moteReader', () => h.cache.moteReader(d)],
            ['moteReaderAt', () => h.cache.moteReaderAt(d)],
            ['commitMote', () => h.cache.commitMote('/nonexistent', { digest: d, size: 1, mediaType: 'x' }, CommitMode.Copy)],
            ['removeMote', () => h.cache.removeMote(d)],
          ];
          for (const [method, call] of calls) {
            let err: unknown;
            try {
              await call();
            } catch (e) {
              err = e;
            }
            expect(err, method).toBeInstanceOf(InvalidDigestError);
            expect((err as InvalidDigestError).code, method).toBe('ERR_INVALID_DIGEST');
          }
        });
      }
    });

    it('a mote never written is nowhere', async () => {
      const d = digestOf('absent');
      expect(await h.cache.moteExists(d)).toBe(false);
      expect(await h.cache.find(d)).toBeUndefined();
      await expect(h.cache.moteReader(d)).rejects.toBeInstanceOf(MoteNotFoundError);
      await expect(h.cache.moteReaderAt(d)).rejects.toMatchObject({ code: 'ERR_MOTE_NOT_FOUND' });
    });

    it('removeMote is idempotent', async () => {
      const d = digestOf('nothing here');
      await h.cache.removeMote(d);
      await h.cache.removeMote(d);
      expect(await h.cache.moteExists(d)).toBe(false);
    });

    it('createMote echoes what it was given', async () => {
      const d = digestOf('announce');
      expect(await h.cache.createMote(d, 'text/plain', 8)).toEqual({ digest: d, size: 8, mediaType: 'text/plain' });
    });

    if (!store) {
      it('accepts and discards written bytes, finishing normally', async () => {
        const data = randomData(10_000);
        const d = await write(h.cache, data);
        expect(await h.cache.moteExists(d)).toBe(false);
        expect(h.cache.moteRef(d)).toBe('');
        await expect(h.cache.moteReader(d)).rejects.toBeInstanceOf(MoteNotFoundError);
        expect(await h.cache.prune(0)).toMatchObject({ removed: 0, freedBytes: 0, remainingBytes: 0 });
        const listed: unknown[] = [];
        for await (const m of h.cache.list()) listed.push(m);
        expect(listed).toEqual([]);
        expect(await h.cache.stats()).toEqual({ count: 0, bytes: 0, partialBytes: 0 });
        expect(await h.cache.verify()).toEqual({ checked: 0, bytes: 0, corrupt: [], sweptTemporaries: 0 });
      });
      return;
    }

    it('list, stats and verify account for every mote written, and only those', async () => {
      const [a, b] = [randomData(1500), randomData(2500)];
      const da = await write(h.cache, a, 'application/vnd.test.a');
      const db = await write(h.cache, b);
      const listed: Array<{ digest: string; size: number; mediaType: string }> = [];
      for await (const m of h.cache.list()) listed.push(m);
      expect(listed.sort((x, y) => x.size - y.size)).toEqual([
        { digest: da, size: 1500, mediaType: 'application/vnd.test.a' },
        { digest: db, size: 2500, mediaType: 'application/vnd.test+bytes' },
      ]);
      expect(await h.cache.stats()).toEqual({ count: 2, bytes: 4000, partialBytes: 0 });
      const verified = await h.cache.verify();
      expect(verified).toMatchObject({ checked: 2, bytes: 4000, corrupt: [] });
    });

    it('round-trips a mote written through moteWriter, with its media type', async () => {
      const data = randomData(100_000);
      const d = await write(h.cache, data, 'application/vnd.oci.image.layer.v1.tar+gzip');
      expect(await h.cache.moteExists(d)).toBe(true);
      expect(await h.cache.find(d)).toEqual({ digest: d, size: data.length, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' });
      expect((await readAll(await h.cache.moteReader(d))).equals(data)).toBe(true);
      expect(h.cache.moteRef(d)).toBe(path.join(h.root!, 'blobs', 'sha256', d.slice(7)));
      expect(temporaries(h.root!)).toEqual([]);
    });

    it('keeps the media type across a restart', async () => {
      const data = randomData(500);
      const d = await write(h.cache, data, 'application/vnd.oci.image.config.v1+json');
      const again = await h.reopen!();
      expect(await again.find(d)).toEqual({ digest: d, size: 500, mediaType: 'application/vnd.oci.image.config.v1+json' });
    });

    it('moteReaderAt reads at any position and reports the size', async () => {
      const data = randomData(70_000);
      const d = await write(h.cache, data);
      const r = await h.cache.moteReaderAt(d);
      expect(r.size).toBe(data.length);
      const buf = Buffer.alloc(100);
      expect(await r.read(buf, 0, 100, 50_000)).toBe(100);
      expect(buf.equals(data.subarray(50_000, 50_100))).toBe(true);
      expect(await r.read(buf, 10, 50, 69_980)).toBe(20);
      expect(buf.subarray(10, 30).equals(data.subarray(69_980))).toBe(true);
      expect(await r.read(buf, 0, 10, 70_000)).toBe(0);
      await r.close();
      await r.close();
      expect(temporaries(h.root!)).toEqual([]);
    });

    it('moteReaderAt works with await using', async () => {
      const data = randomData(1000);
      const d = await write(h.cache, data);
      {
        await using r = await h.cache.moteReaderAt(d);
        const buf = Buffer.alloc(4);
        await r.read(buf, 0, 4, 0);
        expect(buf.equals(data.subarray(0, 4))).toBe(true);
      }
      expect(temporaries(h.root!)).toEqual([]);
    });

    it('moteWriter without createMote rejects with MoteNotFoundError', async () => {
      await expect(h.cache.moteWriter(digestOf('unannounced'))).rejects.toBeInstanceOf(MoteNotFoundError);
    });

    it('finish fires only after the mote is published', async () => {
      const data = randomData(50_000);
      const d = digestOf(data);
      await h.cache.createMote(d, 'x/y', data.length);
      const w = await h.cache.moteWriter(d);
      let presentAtFinish: boolean | undefined;
      w.on('finish', () => {
        presentAtFinish = fs.existsSync(h.cache.moteRef(d));
      });
      w.end(data);
      await once(w, 'finish');
      expect(presentAtFinish).toBe(true);
    });

    for (const [label, delta] of [
      ['short', -1],
      ['long', 1],
    ] as const) {
      it(`a ${label} write fails with SizeMismatchError, publishes nothing, leaves no temporary`, async () => {
        const data = randomData(10_000);
        const d = digestOf(data);
        await h.cache.createMote(d, 'x/y', data.length);
        const body = delta < 0 ? data.subarray(0, data.length - 1) : Buffer.concat([data, Buffer.from('!')]);
        const err = await pipeline(Readable.from([body]), await h.cache.moteWriter(d)).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SizeMismatchError);
        expect(err).toMatchObject({ code: 'ERR_MOTE_SIZE_MISMATCH', expected: data.length, actual: data.length + delta });
        expect(fs.existsSync(h.cache.moteRef(d))).toBe(false);
        expect(temporaries(h.root!)).toEqual([]);
      });
    }

    it('wrong content fails with DigestMismatchError, publishes nothing, leaves no temporary', async () => {
      const data = randomData(10_000);
      const d = digestOf(data);
      await h.cache.createMote(d, 'x/y', data.length);
      const wrong = Buffer.from(data);
      wrong[5000] = wrong[5000]! ^ 1;
      const err = await pipeline(Readable.from([wrong]), await h.cache.moteWriter(d)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DigestMismatchError);
      expect(err).toMatchObject({ code: 'ERR_MOTE_DIGEST_MISMATCH', expected: d, actual: digestOf(wrong) });
      expect(fs.existsSync(h.cache.moteRef(d))).toBe(false);
      expect(temporaries(h.root!)).toEqual([]);
    });

    it('a writer destroyed mid-way publishes nothing and leaves no temporary', async () => {
      const data = randomData(10_000);
      const d = digestOf(data);
      await h.cache.createMote(d, 'x/y', data.length);
      const w = await h.cache.moteWriter(d);
      w.write(data.subarray(0, 5000));
      // 'error' and 'close' are emitted back to back: listen for both before destroying.
      const failed = new Promise<Error>((res) => w.once('error', res));
      const closed = new Promise((res) => w.once('close', res));
      w.destroy(new Error('client went away'));
      expect((await failed).message).toBe('client went away');
      await closed;
      expect(fs.existsSync(h.cache.moteRef(d))).toBe(false);
      expect(temporaries(h.root!)).toEqual([]);
    });

    it('concurrent writers of one digest all succeed with one published copy', async () => {
      const data = randomData(200_000);
      const d = digestOf(data);
      await h.cache.createMote(d, 'x/y', data.length);
      await Promise.all(Array.from({ length: 8 }, async () => pipeline(chunked(data, 7000), await h.cache.moteWriter(d))));
      expect((await readAll(await h.cache.moteReader(d))).equals(data)).toBe(true);
      expect(fs.readdirSync(path.dirname(h.cache.moteRef(d))).filter((n) => n === d.slice(7))).toHaveLength(1);
      expect(temporaries(h.root!)).toEqual([]);
    });

    it('removeMote removes; reading afterwards is MoteNotFoundError', async () => {
      const d = await write(h.cache, randomData(100));
      await h.cache.removeMote(d);
      await h.cache.removeMote(d);
      expect(await h.cache.moteExists(d)).toBe(false);
      await expect(h.cache.moteReader(d)).rejects.toBeInstanceOf(MoteNotFoundError);
    });

    it('removing a mote mid-read neither breaks the read nor leaks a link', async () => {
      const data = randomData(3 << 20);
      const d = await write(h.cache, data);
      const r = await h.cache.moteReader(d);
      const chunks: Buffer[] = [];
      let removed = false;
      for await (const c of r) {
        chunks.push(c as Buffer);
        if (!removed) {
          removed = true;
          await h.cache.removeMote(d);
          expect(fs.existsSync(h.cache.moteRef(d))).toBe(false);
        }
      }
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
      expect(temporaries(h.root!)).toEqual([]);
    });

    it('a reader destroyed early releases its link', async () => {
      const data = randomData(3 << 20);
      const d = await write(h.cache, data);
      const r = await h.cache.moteReader(d);
      const closed = new Promise((res) => r.once('close', res));
      for await (const _ of r) break;
      // The contract: once the reader has closed, its private link is gone.
      await closed;
      expect(temporaries(h.root!)).toEqual([]);
      expect(fs.statSync(h.cache.moteRef(d)).nlink).toBe(1);
    });

    for (const mode of [CommitMode.Copy, CommitMode.Move]) {
      it(`commitMote ${mode} verifies and publishes; ${mode === 'copy' ? 'keeps' : 'removes'} the source`, async () => {
        const data = randomData(30_000);
        const src = path.join(scratch.dir, `src-${mode}`);
        fs.writeFileSync(src, data);
        const d = digestOf(data);
        await h.cache.commitMote(src, { digest: d, size: data.length, mediaType: 'text/x-commit' }, mode);
        expect(fs.existsSync(src)).toBe(mode === CommitMode.Copy);
        expect(await h.cache.find(d)).toEqual({ digest: d, size: data.length, mediaType: 'text/x-commit' });
        expect((await readAll(await h.cache.moteReader(d))).equals(data)).toBe(true);
        // Published blobs are read-only.
        expect(fs.statSync(h.cache.moteRef(d)).mode & 0o222).toBe(0);
        expect(temporaries(h.root!)).toEqual([]);
      });

      it(`commitMote ${mode} of a wrong file fails, publishes nothing and keeps the source intact`, async () => {
        const data = randomData(30_000);
        const src = path.join(scratch.dir, `bad-${mode}`);
        fs.writeFileSync(src, data);
        const claimed = digestOf('something else');
        await expect(h.cache.commitMote(src, { digest: claimed, size: data.length, mediaType: 'x' }, mode)).rejects.toBeInstanceOf(
          DigestMismatchError,
        );
        await expect(h.cache.commitMote(src, { digest: digestOf(data), size: 3, mediaType: 'x' }, mode)).rejects.toBeInstanceOf(
          SizeMismatchError,
        );
        expect(fs.readFileSync(src).equals(data)).toBe(true);
        expect(fs.existsSync(h.cache.moteRef(claimed))).toBe(false);
        expect(fs.existsSync(h.cache.moteRef(digestOf(data)))).toBe(false);
        expect(temporaries(h.root!)).toEqual([]);
      });
    }

    it('prune removes the least recently used motes first', async () => {
      const [a, b, c] = [randomData(1000), randomData(1000), randomData(1000)];
      const da = await write(h.cache, a);
      const db = await write(h.cache, b);
      const dc = await write(h.cache, c);
      await readAll(await h.cache.moteReader(da)); // a is now the most recently used
      const result = await h.cache.prune(2000);
      expect(result).toMatchObject({ removed: 1, freedBytes: 1000, remainingBytes: 2000 });
      // Optional in the contract; a store that reports which motes it removed names the right one.
      if (result.removedDigests !== undefined) expect(result.removedDigests).toEqual([db]);
      expect(fs.existsSync(h.cache.moteRef(db))).toBe(false);
      expect(fs.existsSync(h.cache.moteRef(da))).toBe(true);
      expect(fs.existsSync(h.cache.moteRef(dc))).toBe(true);
    });

    it('prune never removes a mote that is open for reading', async () => {
      const held = await write(h.cache, randomData(1000));
      const other = await write(h.cache, randomData(1000));
      await readAll(await h.cache.moteReader(other)); // `held` is now the least recently used
      const r = await h.cache.moteReaderAt(held);
      const result = await h.cache.prune(0);
      expect(fs.existsSync(h.cache.moteRef(held))).toBe(true);
      expect(fs.existsSync(h.cache.moteRef(other))).toBe(false);
      expect(result.removed).toBe(1);
      await r.close();
      expect((await h.cache.prune(0)).removed).toBe(1);
    });


    it('a miss here is answered by the fallback when there is one', async (ctx) => {
      if (!h.seedFallback) return ctx.skip();
      const data = randomData(40_000);
      const d = await h.seedFallback(data, 'application/vnd.from-fallback');
      expect(await h.cache.moteExists(d)).toBe(true);
      expect(await h.cache.find(d)).toEqual({ digest: d, size: data.length, mediaType: 'application/vnd.from-fallback' });
      expect((await readAll(await h.cache.moteReader(d))).equals(data)).toBe(true);
      const r = await h.cache.moteReaderAt(d);
      const buf = Buffer.alloc(10);
      await r.read(buf, 0, 10, 100);
      await r.close();
      expect(buf.equals(data.subarray(100, 110))).toBe(true);
      expect(fs.existsSync(h.cache.moteRef(d))).toBe(opts.populatesFromFallback === true);
      await h.cache.removeMote(d); // never touches the fallback
      expect(await h.cache.moteExists(d)).toBe(true);
    });

    it('concurrent misses populate from the fallback once', async (ctx) => {
      if (!h.seedFallback || !opts.populatesFromFallback) return ctx.skip();
      const data = randomData(2 << 20);
      const d = await h.seedFallback(data, 'x/y');
      const before = h.fallbackReads!();
      const bodies = await Promise.all(Array.from({ length: 6 }, async () => readAll(await h.cache.moteReader(d))));
      for (const b of bodies) expect(b.equals(data)).toBe(true);
      expect(h.fallbackReads!() - before).toBe(1);
      expect(fs.existsSync(h.cache.moteRef(d))).toBe(true);
      expect(temporaries(h.root!)).toEqual([]);
    });
  });
}
