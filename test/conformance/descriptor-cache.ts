/**
 * Conformance suites for the registry's caches, run against every backend (memory, Redis): one for
 * `LayerInfoCache` (distribution v2.0.0 `cache_test.go`) and one for `BlobDescriptorCache` (v2.1+ `cachecheck`),
 * with the original's cases ported, its Clear check actually called, and the bugs it had checked for.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import {
  BlobUnknownError,
  InvalidArgumentError,
  InvalidDescriptorError,
  InvalidDigestError,
  digestOf,
  type BlobDescriptor,
  type BlobDescriptorCache,
  type LayerInfoCache,
} from '../../src/index.js';
import { BAD_DIGESTS } from '../helpers/bad-digests.js';

/** Direct access to the backing store's raw keys, for backends that have one (Redis). */
export interface RawInspector {
  hgetall(key: string): Promise<Record<string, string>>;
  exists(key: string): Promise<boolean>;
  sismember(key: string, member: string): Promise<boolean>;
}

export interface LayerInfoHarness {
  cache: LayerInfoCache;
  cleanup: () => Promise<void>;
}

export interface DescriptorHarness {
  cache: BlobDescriptorCache;
  raw?: RawInspector;
  cleanup: () => Promise<void>;
}

export const BAD_REPOSITORIES: Array<[string, unknown]> = [
  ['empty', ''],
  ['uppercase', 'Library/alpine'],
  ['Redis key separator', 'a::b'],
  ['leading slash', '/alpine'],
  ['trailing slash', 'alpine/'],
  ['double slash', 'library//alpine'],
  ['space', 'my repo'],
  ['too long', 'a'.repeat(256)],
  ['not a string', 42],
  ['undefined', undefined],
];

const d = (s: string) => digestOf(s);
const OCTET = 'application/octet-stream';
const JSON_MT = 'application/json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

async function rejectsWith(p: Promise<unknown> | (() => unknown), cls: new (...a: never[]) => Error): Promise<Error> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${cls.name}`).toBeInstanceOf(cls);
  return err as Error;
}

export function layerInfoCacheConformance(name: string, make: () => Promise<LayerInfoHarness>): void {
  describe(`LayerInfoCache conformance: ${name}`, () => {
    let h: LayerInfoHarness;
    let cache: LayerInfoCache;
    beforeEach(async () => {
      h = await make();
      cache = h.cache;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('rejects empty and invalid repository names (typed, before any lookup)', async () => {
      for (const [label, repo] of BAD_REPOSITORIES) {
        const err = await rejectsWith(cache.contains(repo as string, d('x')), InvalidArgumentError);
        expect(err.message, label).toMatch(/repository/);
        await rejectsWith(cache.add(repo as string, d('x')), InvalidArgumentError);
      }
    });

    it('rejects empty and malformed digests everywhere', async () => {
      for (const [, bad] of BAD_DIGESTS) {
        const b = bad as string;
        await rejectsWith(cache.contains('foo/bar', b), InvalidDigestError);
        await rejectsWith(cache.add('foo/bar', b), InvalidDigestError);
        await rejectsWith(cache.meta(b), InvalidDigestError);
        await rejectsWith(cache.setMeta(b, { path: '/foo/bar', length: 20 }), InvalidDigestError);
      }
    });

    it("meta('') errors, and not with BlobUnknownError", async () => {
      const err = await rejectsWith(cache.meta(''), InvalidDigestError);
      expect(err).not.toBeInstanceOf(BlobUnknownError);
    });

    it('unknown: contains is false, meta is BlobUnknownError with the digest', async () => {
      expect(await cache.contains('foo/bar', d('unknown'))).toBe(false);
      const err = await rejectsWith(cache.meta(d('unknown')), BlobUnknownError);
      expect((err as BlobUnknownError).digest).toBe(d('unknown'));
      expect((err as BlobUnknownError).code).toBe('ERR_BLOB_UNKNOWN');
    });

    it('add => contains, for that repository only; add is idempotent', async () => {
      await cache.add('foo/bar', d('a'));
      await cache.add('foo/bar', d('a'));
      expect(await cache.contains('foo/bar', d('a'))).toBe(true);
      expect(await cache.contains('foo/baz', d('a'))).toBe(false);
      expect(await cache.contains('foo/bar', d('b'))).toBe(false);
      // Membership says nothing about metadata.
      await rejectsWith(cache.meta(d('a')), BlobUnknownError);
    });

    it('setMeta rejects an empty digest and empty or invalid meta, and stores nothing', async () => {
      await rejectsWith(cache.setMeta('', { path: '/foo/bar', length: 20 }), InvalidDigestError);
      const bad: unknown[] = [
        undefined,
        null,
        {},
        { path: '', length: 20 },
        { path: '/foo/bar' },
        { path: '/foo/bar', length: -1 },
        { path: '/foo/bar', length: 1.5 },
        { path: '/foo/bar', length: Number.NaN },
        { path: '/foo/bar', length: '20' },
        { path: 7, length: 20 },
      ];
      for (const meta of bad) {
        await rejectsWith(cache.setMeta(d('m'), meta as never), InvalidArgumentError);
      }
      await rejectsWith(cache.meta(d('m')), BlobUnknownError);
    });

    it('setMeta / meta round trip; setMeta replaces; length 0 and large lengths', async () => {
      await cache.setMeta(d('r'), { path: '/foo/bar', length: 20 });
      expect(await cache.meta(d('r'))).toEqual({ path: '/foo/bar', length: 20 });
      await cache.setMeta(d('r'), { path: '/other/place', length: 2 ** 40 });
      expect(await cache.meta(d('r'))).toEqual({ path: '/other/place', length: 2 ** 40 });
      await cache.setMeta(d('zero'), { path: '/empty', length: 0 });
      expect(await cache.meta(d('zero'))).toEqual({ path: '/empty', length: 0 });
      // The result is a copy.
      const m = await cache.meta(d('zero'));
      m.length = 99;
      expect((await cache.meta(d('zero'))).length).toBe(0);
    });

    it('paths are opaque strings (spaces, unicode, colons) and round-trip exactly', async () => {
      const path = '/docker/registry/v2/blobs/sha256/ab/ab…cd/data with space::x';
      await cache.setMeta(d('p'), { path, length: 3 });
      expect((await cache.meta(d('p'))).path).toBe(path);
    });

    it('is safe under concurrent use (400 overlapping calls)', async () => {
      const n = 100;
      const digests = Array.from({ length: n }, (_, i) => d(`c${i}`));
      await Promise.all(
        digests.flatMap((dg, i) => [
          cache.add(`repo/n${i % 4}`, dg),
          cache.setMeta(dg, { path: `/p/${i}`, length: i }),
          cache.contains(`repo/n${i % 4}`, dg),
          cache.meta(dg).catch((e) => expect(e).toBeInstanceOf(BlobUnknownError)),
        ]),
      );
      const metas = await Promise.all(digests.map((dg) => cache.meta(dg)));
      metas.forEach((m, i) => expect(m).toEqual({ path: `/p/${i}`, length: i }));
      const members = await Promise.all(digests.map((dg, i) => cache.contains(`repo/n${i % 4}`, dg)));
      expect(members.every(Boolean)).toBe(true);
    });
  });
}

export function blobDescriptorCacheConformance(name: string, make: () => Promise<DescriptorHarness>): void {
  describe(`BlobDescriptorCache conformance: ${name}`, () => {
    let h: DescriptorHarness;
    let provider: BlobDescriptorCache;
    beforeEach(async () => {
      h = await make();
      provider = h.cache;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    const desc = (s: string, size = 10, mediaType = OCTET): BlobDescriptor => ({ digest: d(s), size, mediaType });

    it('unknown digests give BlobUnknownError, globally and in a repository', async () => {
      const e1 = await rejectsWith(provider.stat(d('nope')), BlobUnknownError);
      expect((e1 as BlobUnknownError).digest).toBe(d('nope'));
      await rejectsWith(provider.repositoryScoped('foo/bar').stat(d('nope')), BlobUnknownError);
    });

    it('repositoryScoped rejects empty and invalid repository names', () => {
      for (const [label, repo] of BAD_REPOSITORIES) {
        expect(() => provider.repositoryScoped(repo as string), label).toThrow(InvalidArgumentError);
      }
      expect(() => provider.repositoryScoped('foo/bar').repositoryScoped('')).toThrow(InvalidArgumentError);
    });

    it('rejects invalid digests on stat, setDescriptor and clear, globally and in a repository', async () => {
      const repo = provider.repositoryScoped('foo/bar');
      for (const c of [provider, repo]) {
        for (const [, bad] of BAD_DIGESTS) {
          const b = bad as string;
          await rejectsWith(c.stat(b), InvalidDigestError);
          await rejectsWith(c.setDescriptor(b, desc('x')), InvalidDigestError);
          await rejectsWith(c.clear(b), InvalidDigestError);
        }
      }
    });

    it('rejects invalid descriptors (digest, size >= 0, media type) and stores nothing', async () => {
      const repo = provider.repositoryScoped('foo/bar');
      const key = d('k');
      const bad: unknown[] = [
        undefined,
        null,
        { digest: '', size: 10, mediaType: OCTET },
        { digest: 'sha384:abc', size: 10, mediaType: OCTET },
        { digest: `${d('k')}\n`, size: 10, mediaType: OCTET },
        { digest: d('k'), size: -1, mediaType: OCTET },
        { digest: d('k'), size: 1.5, mediaType: OCTET },
        { digest: d('k'), size: Number.NaN, mediaType: OCTET },
        { digest: d('k'), size: '10', mediaType: OCTET },
        { digest: d('k'), mediaType: OCTET },
        { digest: d('k'), size: 10, mediaType: '' },
        { digest: d('k'), size: 10 },
        { digest: d('k'), size: 10, mediaType: 'application/json\r\nx' },
      ];
      for (const c of [provider, repo]) {
        for (const b of bad) {
          const err = await rejectsWith(c.setDescriptor(key, b as BlobDescriptor), InvalidDescriptorError);
          expect((err as InvalidDescriptorError).code).toBe('ERR_INVALID_DESCRIPTOR');
        }
      }
      await rejectsWith(provider.stat(key), BlobUnknownError);
      await rejectsWith(repo.stat(key), BlobUnknownError);
      // Size 0 is a valid size.
      await provider.setDescriptor(d('empty'), { digest: d('empty'), size: 0, mediaType: OCTET });
      expect(await provider.stat(d('empty'))).toEqual({ digest: d('empty'), size: 0, mediaType: OCTET });
    });

    it('set in a repository, read from the repository and from the global cache; other repositories miss', async () => {
      const repo = provider.repositoryScoped('foo/bar');
      const expected = desc('sr');
      await repo.setDescriptor(expected.digest, expected);
      expect(await repo.stat(expected.digest)).toEqual(expected);
      expect(await provider.stat(expected.digest)).toEqual(expected);
      await rejectsWith(provider.repositoryScoped('foo/other').stat(expected.digest), BlobUnknownError);
      // A fresh view of the same repository sees the same thing.
      expect(await provider.repositoryScoped('foo/bar').stat(expected.digest)).toEqual(expected);
    });

    it('a descriptor stored under an alternate digest is readable under both digests', async () => {
      const canonical = desc('canonical', 42, LAYER);
      const alternate = d('alternate (e.g. the uncompressed variant)');
      const repo = provider.repositoryScoped('foo/bar');
      await repo.setDescriptor(alternate, canonical);
      for (const c of [repo, provider]) {
        expect(await c.stat(alternate)).toEqual(canonical);
        expect(await c.stat(canonical.digest)).toEqual(canonical);
      }
      const other = desc('canonical-2', 7, LAYER);
      const alt2 = d('alternate-2');
      await provider.setDescriptor(alt2, other);
      expect(await provider.stat(alt2)).toEqual(other);
      expect(await provider.stat(other.digest)).toEqual(other);
    });

    it("a repository's media type does not change the global entry", async () => {
      const repo = provider.repositoryScoped('foo/bar');
      const expected = desc('mt', 10, OCTET);
      await repo.setDescriptor(expected.digest, expected);
      await repo.setDescriptor(expected.digest, { ...expected, mediaType: JSON_MT });
      expect(await repo.stat(expected.digest)).toEqual({ ...expected, mediaType: JSON_MT });
      expect(await provider.stat(expected.digest)).toEqual(expected); // original media type in the global cache
      // Another repository keeps its own.
      const repo2 = provider.repositoryScoped('foo/baz');
      await repo2.setDescriptor(expected.digest, { ...expected, mediaType: LAYER });
      expect(await repo2.stat(expected.digest)).toEqual({ ...expected, mediaType: LAYER });
      expect(await repo.stat(expected.digest)).toEqual({ ...expected, mediaType: JSON_MT });
      expect(await provider.stat(expected.digest)).toEqual(expected);
    });

    it('a global setDescriptor replaces the global entry; stored descriptors are copies without extra fields', async () => {
      const a = desc('g', 10, OCTET);
      await provider.setDescriptor(a.digest, { ...a, annotations: { x: 'y' } } as BlobDescriptor);
      const got = await provider.stat(a.digest);
      expect(got).toEqual(a);
      got.size = 999;
      expect((await provider.stat(a.digest)).size).toBe(10);
      await provider.setDescriptor(a.digest, { ...a, mediaType: JSON_MT });
      expect(await provider.stat(a.digest)).toEqual({ ...a, mediaType: JSON_MT });
    });

    it('clear (global) forgets the digest and removes every field it wrote', async () => {
      const expected = desc('clear-global');
      await provider.setDescriptor(expected.digest, expected);
      expect(await provider.stat(expected.digest)).toEqual(expected);
      await provider.clear(expected.digest);
      await rejectsWith(provider.stat(expected.digest), BlobUnknownError);
      if (h.raw) {
        expect(await h.raw.hgetall(`blobs::${expected.digest}`)).toEqual({}); // no `size` left behind
        expect(await h.raw.exists(`blobs::${expected.digest}`)).toBe(false);
      }
      // Clearing again, or clearing something never stored, is fine.
      await provider.clear(expected.digest);
      await provider.clear(d('never stored'));
    });

    it('clear (repository-scoped): the check distribution defined but never called', async () => {
      const repo = provider.repositoryScoped('foo/bar');
      const other = provider.repositoryScoped('foo/baz');
      const expected = desc('clear-scoped', 10, OCTET);
      await repo.setDescriptor(expected.digest, expected);
      await other.setDescriptor(expected.digest, { ...expected, mediaType: JSON_MT });
      expect(await repo.stat(expected.digest)).toEqual(expected);
      await repo.clear(expected.digest);
      await rejectsWith(repo.stat(expected.digest), BlobUnknownError);
      await rejectsWith(provider.stat(expected.digest), BlobUnknownError);
      // The global entry is gone, so other repositories miss too and go back to the backend.
      await rejectsWith(other.stat(expected.digest), BlobUnknownError);
      if (h.raw) {
        expect(await h.raw.sismember('repository::foo/bar::blobs', expected.digest)).toBe(false);
        expect(await h.raw.exists(`repository::foo/bar::blobs::${expected.digest}`)).toBe(false);
        expect(await h.raw.exists(`blobs::${expected.digest}`)).toBe(false);
        // The other repository's own record is untouched.
        expect(await h.raw.sismember('repository::foo/baz::blobs', expected.digest)).toBe(true);
      }
      // Set again after a clear: everything is back.
      await repo.setDescriptor(expected.digest, expected);
      expect(await repo.stat(expected.digest)).toEqual(expected);
      expect(await provider.stat(expected.digest)).toEqual(expected);
      await repo.clear(d('never stored'));
    });

    it('writes the documented Redis keys', async () => {
      if (!h.raw) return;
      const repo = provider.repositoryScoped('library/alpine');
      const expected = desc('keys', 5, LAYER);
      await repo.setDescriptor(expected.digest, expected);
      expect(await h.raw.hgetall(`blobs::${expected.digest}`)).toEqual({ digest: expected.digest, size: '5', mediatype: LAYER });
      expect(await h.raw.sismember('repository::library/alpine::blobs', expected.digest)).toBe(true);
      expect(await h.raw.hgetall(`repository::library/alpine::blobs::${expected.digest}`)).toEqual({
        digest: expected.digest,
        mediatype: LAYER,
      });
    });

    it('is safe under concurrent use; concurrent writers of one digest never mix fields', async () => {
      const n = 100;
      const repo = provider.repositoryScoped('foo/concurrent');
      const descs = Array.from({ length: n }, (_, i) => desc(`cc${i}`, i));
      await Promise.all(
        descs.flatMap((x, i) => [
          (i % 2 ? repo : provider).setDescriptor(x.digest, x),
          provider.stat(x.digest).catch((e) => expect(e).toBeInstanceOf(BlobUnknownError)),
        ]),
      );
      const got = await Promise.all(descs.map((x) => provider.stat(x.digest)));
      expect(got).toEqual(descs);
      // Two writers, one key: every read sees one of the two whole descriptors.
      const key = d('contended');
      const A: BlobDescriptor = { digest: key, size: 1, mediaType: 'application/a' };
      const B: BlobDescriptor = { digest: key, size: 2, mediaType: 'application/b' };
      const reads: Promise<BlobDescriptor | undefined>[] = [];
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) {
        writes.push(provider.setDescriptor(key, i % 2 ? A : B));
        reads.push(provider.stat(key).catch(() => undefined));
      }
      await Promise.all(writes);
      for (const r of await Promise.all(reads)) {
        if (r) expect([A, B]).toContainEqual(r);
      }
      expect([A, B]).toContainEqual(await provider.stat(key));
    });
  });
}
