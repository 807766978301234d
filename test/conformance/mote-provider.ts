/**
 * The MoteProvider (read role) conformance suite: what every source of motes guarantees (whole, verified bytes; a
 * miss is `false`/`undefined`/`MoteNotFoundError`; bad digests refused before any access), run by every store and
 * by the registry source. The harness seeds motes where the provider reads them (a write through a store, a push to
 * a registry).
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { AbortError, InvalidDigestError, MoteNotFoundError, digestOf, isRangeReadable, type MoteProvider } from '../../src/index.js';
import { BAD_DIGESTS } from '../helpers/bad-digests.js';
import { makeTempDir, randomData, readAll } from '../helpers/tmp.js';

export interface ProviderHarness {
  provider: MoteProvider;
  /** Puts bytes where the provider reads them; resolves to their digest. */
  seed: (data: Buffer) => Promise<string>;
  cleanup: () => Promise<void>;
}

export interface ProviderConformanceOptions {
  /** The media type `find` reports for a seeded mote (a registry keeps none for blobs). Default `application/octet-stream`. */
  reportedMediaType?: string;
}

export function moteProviderConformance(
  name: string,
  make: (scratch: string) => Promise<ProviderHarness>,
  opts: ProviderConformanceOptions = {},
): void {
  describe(`MoteProvider conformance: ${name}`, () => {
    let h: ProviderHarness;
    let scratch: { dir: string; cleanup: () => void };
    beforeEach(async () => {
      scratch = makeTempDir();
      h = await make(scratch.dir);
    });
    afterEach(async () => {
      await h.cleanup();
      scratch.cleanup();
    });

    it('rejects bad digests with InvalidDigestError before any access', async () => {
      const p = h.provider;
      for (const [label, bad] of BAD_DIGESTS) {
        const d = bad as string;
        const calls: Array<[string, () => unknown]> = [
          ['moteExists', () => p.moteExists(d)],
          ['find', () => p.find(d)],
          ['moteRef', () => p.moteRef(d)],
          ['moteReader', () => p.moteReader(d)],
          ['moteReaderAt', () => p.moteReaderAt(d)],
        ];
        if (isRangeReadable(p)) calls.push(['moteReaderFrom', () => p.moteReaderFrom(d, 0)]);
        for (const [method, call] of calls) {
          let err: unknown;
          try {
            await call();
          } catch (e) {
            err = e;
          }
          expect(err, `${method} ${label}`).toBeInstanceOf(InvalidDigestError);
        }
      }
    });

    it('a mote never seeded is nowhere', async () => {
      const d = digestOf('absent from the provider');
      expect(await h.provider.moteExists(d)).toBe(false);
      expect(await h.provider.find(d)).toBeUndefined();
      await expect(h.provider.moteReader(d)).rejects.toBeInstanceOf(MoteNotFoundError);
      await expect(h.provider.moteReaderAt(d)).rejects.toMatchObject({ code: 'ERR_MOTE_NOT_FOUND' });
    });

    it('serves a seeded mote: exists, find, moteReader', async () => {
      const data = randomData(100_000);
      const d = await h.seed(data);
      expect(await h.provider.moteExists(d)).toBe(true);
      expect(await h.provider.find(d)).toEqual({ digest: d, size: data.length, mediaType: opts.reportedMediaType ?? 'application/octet-stream' });
      expect((await readAll(await h.provider.moteReader(d))).equals(data)).toBe(true);
    });

    it('moteReaderAt reads at any position and reports the size', async () => {
      const data = randomData(70_000);
      const d = await h.seed(data);
      const r = await h.provider.moteReaderAt(d);
      expect(r.size).toBe(data.length);
      const buf = Buffer.alloc(100);
      expect(await r.read(buf, 0, 100, 50_000)).toBe(100);
      expect(buf.equals(data.subarray(50_000, 50_100))).toBe(true);
      expect(await r.read(buf, 10, 50, 69_980)).toBe(20);
      expect(buf.subarray(10, 30).equals(data.subarray(69_980))).toBe(true);
      expect(await r.read(buf, 0, 10, 70_000)).toBe(0);
      await r.close();
      await r.close();
    });

    it('moteReaderAt works with await using', async () => {
      const data = randomData(1000);
      const d = await h.seed(data);
      {
        await using r = await h.provider.moteReaderAt(d);
        const buf = Buffer.alloc(4);
        await r.read(buf, 0, 4, 0);
        expect(buf.equals(data.subarray(0, 4))).toBe(true);
      }
    });

    it('moteReaderFrom streams from an offset, where the provider can', async (ctx) => {
      const p = h.provider;
      if (!isRangeReadable(p)) return ctx.skip();
      const data = randomData(50_000);
      const d = await h.seed(data);
      for (const offset of [0, 1, 49_999, 50_000]) {
        expect((await readAll(await p.moteReaderFrom(d, offset))).equals(data.subarray(offset)), String(offset)).toBe(true);
      }
      await expect(p.moteReaderFrom(digestOf('absent from'), 0)).rejects.toBeInstanceOf(MoteNotFoundError);
    });

    it('moteReader takes a signal: aborted first, it rejects with AbortError; fired mid-read, the stream fails with AbortError and closes', async () => {
      const data = randomData(3 << 20);
      const d = await h.seed(data);
      const early = new AbortController();
      early.abort();
      await expect(h.provider.moteReader(d, { signal: early.signal })).rejects.toBeInstanceOf(AbortError);

      const controller = new AbortController();
      const r = await h.provider.moteReader(d, { signal: controller.signal });
      const closed = new Promise((res) => r.once('close', res));
      let received = 0;
      let err: unknown;
      try {
        for await (const chunk of r) {
          received += (chunk as Buffer).length;
          controller.abort();
        }
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AbortError);
      expect(err).toMatchObject({ code: 'ABORT_ERR' });
      expect(received).toBeLessThan(data.length);
      await closed;
      expect(r.destroyed).toBe(true);

      // A signal that never fires changes nothing.
      expect((await readAll(await h.provider.moteReader(d, { signal: new AbortController().signal }))).equals(data)).toBe(true);
    });

    it('a reader destroyed early closes', async () => {
      const data = randomData(3 << 20);
      const d = await h.seed(data);
      const r = await h.provider.moteReader(d);
      const closed = new Promise((res) => r.once('close', res));
      for await (const _ of r) break;
      await closed;
      expect(r.destroyed).toBe(true);
    });
  });
}
