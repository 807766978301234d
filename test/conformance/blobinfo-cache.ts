/**
 * The BlobInfoCache conformance suite: one set of tests every backend runs. It ports the original's shared
 * `bicbackend` suite (itself containers/image's blobinfocache test suite) case by case, then adds the
 * contract's own rules (validation, limit, forgetLocations, read-your-writes, close).
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import {
  CacheUnavailableError,
  InvalidArgumentError,
  InvalidDigestError,
} from '../../src/index.js';
import { UNKNOWN_TRANSFORMER, type BlobInfoCache, type CandidateLocation } from '../../src/blobinfo/index.js';
import { BAD_DIGESTS } from '../helpers/bad-digests.js';

export interface BicHarness {
  cache: BlobInfoCache;
  cleanup: () => Promise<void>;
}

const digestUnknown = `sha256:${'1'.repeat(64)}`;
const digestUntransformed = `sha256:${'2'.repeat(64)}`;
const digestTransformedA = `sha256:${'3'.repeat(64)}`;
const digestTransformedB = `sha256:${'4'.repeat(64)}`;
const digestTransformedUnrelated = `sha256:${'5'.repeat(64)}`;
const transformerNameU = 'transformerName/U';
const transformerNameA = 'transformerName/A';
const transformerNameB = 'transformerName/B';
const transformerNameCU = 'transformerName/CU';
const transport = '==BlobInfoCache TestTransport';

type Expected = { d: string; tn: string; lr: string };

/** The candidates without their times (checked separately): the shape the original's assertions compare. */
const strip = (cs: CandidateLocation[]) => cs.map((c) => ({ digest: c.digest, transformerName: c.transformerName, location: c.location }));
const expectCandidates = (scopeName: string, expected: Expected[], actual: CandidateLocation[]) =>
  expect(strip(actual)).toEqual(expected.map((e) => ({ digest: e.d, transformerName: e.tn, location: scopeName + e.lr })));

export function blobInfoCacheConformance(name: string, make: () => Promise<BicHarness>): void {
  describe(`BlobInfoCache conformance: ${name}`, () => {
    let h: BicHarness;
    let cache: BlobInfoCache;
    beforeEach(async () => {
      h = await make();
      cache = h.cache;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('UntransformedDigest', async () => {
      // Nothing is known.
      expect(await cache.untransformedDigest(digestUnknown)).toBeUndefined();
      await cache.recordDigestUntransformedPair(digestTransformedA, digestUntransformed);
      await cache.recordDigestUntransformedPair(digestTransformedB, digestUntransformed);
      // Known transformed -> untransformed mapping
      expect(await cache.untransformedDigest(digestTransformedA)).toBe(digestUntransformed);
      expect(await cache.untransformedDigest(digestTransformedB)).toBe(digestUntransformed);
      // This implicitly marks digestUntransformed as untransformed.
      expect(await cache.untransformedDigest(digestUntransformed)).toBe(digestUntransformed);
      // Known untransformed -> self mapping
      await cache.recordDigestUntransformedPair(digestTransformedUnrelated, digestTransformedUnrelated);
      expect(await cache.untransformedDigest(digestTransformedUnrelated)).toBe(digestTransformedUnrelated);
    });

    it('RecordDigestUntransformedPair (twice: redundant writes are harmless)', async () => {
      for (let i = 0; i < 2; i++) {
        await cache.recordDigestUntransformedPair(digestTransformedA, digestUntransformed);
        expect(await cache.untransformedDigest(digestTransformedA)).toBe(digestUntransformed);
        await cache.recordDigestUntransformedPair(digestTransformedB, digestUntransformed);
        expect(await cache.untransformedDigest(digestTransformedB)).toBe(digestUntransformed);
        await cache.recordDigestUntransformedPair(digestUntransformed, digestUntransformed);
        expect(await cache.untransformedDigest(digestUntransformed)).toBe(digestUntransformed);
      }
    });

    it('RecordKnownLocations: scopes and digests isolated, newest first, repeatable', async () => {
      for (let i = 0; i < 2; i++) {
        for (const scopeName of ['A', 'B']) {
          for (const digest of [digestTransformedA, digestTransformedB]) {
            await cache.recordKnownLocation(transport, scopeName, digest, `${scopeName}2`);
            await cache.recordKnownLocation(transport, scopeName, digest, `${scopeName}1`);
            expect(strip(await cache.candidateLocations(transport, scopeName, digest, { canSubstitute: false }))).toEqual([
              { digest, location: `${scopeName}1`, transformerName: UNKNOWN_TRANSFORMER },
              { digest, location: `${scopeName}2`, transformerName: UNKNOWN_TRANSFORMER },
            ]);
          }
        }
      }
    });

    const digestNameSet = [
      { n: 'U', d: digestUntransformed, m: transformerNameU },
      { n: 'A', d: digestTransformedA, m: transformerNameA },
      { n: 'B', d: digestTransformedB, m: transformerNameB },
      { n: 'CU', d: digestTransformedUnrelated, m: transformerNameCU },
    ];

    async function recordPairs(): Promise<void> {
      await cache.recordDigestUntransformedPair(digestTransformedA, digestUntransformed);
      await cache.recordDigestUntransformedPair(digestTransformedB, digestUntransformed);
      await cache.recordDigestUntransformedPair(digestUntransformed, digestUntransformed);
    }

    /** Every ordering assertion of the original's CandidateLocations, with transformer names per digest. */
    async function assertOrders(scopeName: string, tn: (d: string) => string): Promise<void> {
      const [U, A, B, CU] = [digestUntransformed, digestTransformedA, digestTransformedB, digestTransformedUnrelated];
      // No substitutions allowed:
      for (const e of digestNameSet) {
        expectCandidates(
          scopeName,
          [
            { d: e.d, tn: tn(e.d), lr: `${e.n}1` },
            { d: e.d, tn: tn(e.d), lr: `${e.n}2` },
          ],
          await cache.candidateLocations(transport, scopeName, e.d, { canSubstitute: false }),
        );
      }
      // With substitutions: the original digest first, then other transformed, then the untransformed one.
      expectCandidates(
        scopeName,
        [
          { d: A, tn: tn(A), lr: 'A1' },
          { d: A, tn: tn(A), lr: 'A2' },
          { d: B, tn: tn(B), lr: 'B1' },
          { d: B, tn: tn(B), lr: 'B2' },
          { d: U, tn: tn(U), lr: 'U1' },
          { d: U, tn: tn(U), lr: 'U2' },
        ],
        await cache.candidateLocations(transport, scopeName, A, { canSubstitute: true }),
      );
      expectCandidates(
        scopeName,
        [
          { d: B, tn: tn(B), lr: 'B1' },
          { d: B, tn: tn(B), lr: 'B2' },
          { d: A, tn: tn(A), lr: 'A1' },
          { d: A, tn: tn(A), lr: 'A2' },
          { d: U, tn: tn(U), lr: 'U1' },
          { d: U, tn: tn(U), lr: 'U2' },
        ],
        await cache.candidateLocations(transport, scopeName, B, { canSubstitute: true }),
      );
      expectCandidates(
        scopeName,
        [
          { d: U, tn: tn(U), lr: 'U1' },
          { d: U, tn: tn(U), lr: 'U2' },
          // "1" entries were recorded after "2", and B after A: the siblings interleave by time.
          { d: B, tn: tn(B), lr: 'B1' },
          { d: A, tn: tn(A), lr: 'A1' },
          { d: B, tn: tn(B), lr: 'B2' },
          { d: A, tn: tn(A), lr: 'A2' },
        ],
        await cache.candidateLocations(transport, scopeName, U, { canSubstitute: true }),
      );
      // Locations are known, but no relationships.
      expectCandidates(
        scopeName,
        [
          { d: CU, tn: tn(CU), lr: 'CU1' },
          { d: CU, tn: tn(CU), lr: 'CU2' },
        ],
        await cache.candidateLocations(transport, scopeName, CU, { canSubstitute: true }),
      );
    }

    async function recordLocations(scopeName: string): Promise<void> {
      // "2" entries before "1" entries: results sort "1" (more recent) before "2".
      for (const suffix of ['2', '1']) {
        for (const e of digestNameSet) await cache.recordKnownLocation(transport, scopeName, e.d, scopeName + e.n + suffix);
      }
    }

    it('CandidateLocations', async () => {
      await recordPairs();
      for (const scopeName of ['A', 'B']) {
        expect(await cache.candidateLocations(transport, scopeName, digestUnknown, { canSubstitute: false })).toEqual([]);
        expect(await cache.candidateLocations(transport, scopeName, digestUnknown, { canSubstitute: true })).toEqual([]);
        await recordLocations(scopeName);
        await assertOrders(scopeName, () => UNKNOWN_TRANSFORMER);
      }
    });

    it('CandidateLocations2 (transformer names reported, "unknown" clears them)', async () => {
      await recordPairs();
      for (const [scopeIndex, scopeName] of ['A', 'B', 'C'].entries()) {
        expect(await cache.candidateLocations(transport, scopeName, digestUnknown, { canSubstitute: false })).toEqual([]);
        expect(await cache.candidateLocations(transport, scopeName, digestUnknown, { canSubstitute: true })).toEqual([]);
        await recordLocations(scopeName);
        // Clear the names set in the previous round (none on the first).
        if (scopeIndex !== 0) for (const e of digestNameSet) await cache.recordDigestTransformerName(e.d, UNKNOWN_TRANSFORMER);
        await assertOrders(scopeName, () => UNKNOWN_TRANSFORMER);
        for (const e of digestNameSet) await cache.recordDigestTransformerName(e.d, e.m);
        const names = new Map(digestNameSet.map((e) => [e.d, e.m]));
        await assertOrders(scopeName, (d) => names.get(d)!);
      }
    });

    it("'untransformed' is a transformer name like any other", async () => {
      await cache.recordKnownLocation(transport, 's', digestUntransformed, 'x');
      await cache.recordDigestTransformerName(digestUntransformed, 'untransformed');
      const [c] = await cache.candidateLocations(transport, 's', digestUntransformed, { canSubstitute: false });
      expect(c?.transformerName).toBe('untransformed');
    });

    it('lastSeen is the recording time; recording again refreshes it and moves the location first', async () => {
      const before = Date.now();
      await cache.recordKnownLocation(transport, 's', digestTransformedA, 'old');
      await cache.recordKnownLocation(transport, 's', digestTransformedA, 'new');
      let cs = await cache.candidateLocations(transport, 's', digestTransformedA, { canSubstitute: false });
      expect(cs.map((c) => c.location)).toEqual(['new', 'old']);
      for (const c of cs) {
        expect(c.lastSeen).toBeInstanceOf(Date);
        expect(c.lastSeen.getTime()).toBeGreaterThanOrEqual(before - 1);
        expect(c.lastSeen.getTime()).toBeLessThanOrEqual(Date.now() + 1);
      }
      await cache.recordKnownLocation(transport, 's', digestTransformedA, 'old');
      cs = await cache.candidateLocations(transport, 's', digestTransformedA, { canSubstitute: false });
      expect(cs.map((c) => c.location)).toEqual(['old', 'new']);
    });

    it('transports are isolated', async () => {
      await cache.recordKnownLocation('t1', 's', digestTransformedA, 'one');
      await cache.recordKnownLocation('t2', 's', digestTransformedA, 'two');
      expect(strip(await cache.candidateLocations('t1', 's', digestTransformedA, { canSubstitute: true })).map((c) => c.location)).toEqual(['one']);
    });

    it('limit caps the result, keeping the first in order', async () => {
      await recordPairs();
      await recordLocations('L');
      const all = await cache.candidateLocations(transport, 'L', digestUntransformed, { canSubstitute: true });
      for (const limit of [0, 1, 3, 6, 100]) {
        const some = await cache.candidateLocations(transport, 'L', digestUntransformed, { canSubstitute: true, limit });
        expect(strip(some)).toEqual(strip(all.slice(0, limit)));
      }
      await expect(cache.candidateLocations(transport, 'L', digestUntransformed, { canSubstitute: true, limit: -1 })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    });

    it('a digest re-paired to another untransformed digest leaves its old siblings', async () => {
      await cache.recordDigestUntransformedPair(digestTransformedA, digestUntransformed);
      await cache.recordDigestUntransformedPair(digestTransformedA, digestTransformedUnrelated);
      expect(await cache.untransformedDigest(digestTransformedA)).toBe(digestTransformedUnrelated);
      expect(await cache.untransformedDigest(digestUntransformed)).toBeUndefined();
    });

    it('batch recording: recordKnownLocations keeps call order (last newest)', async () => {
      await cache.recordKnownLocations(
        ['l1', 'l2', 'l3'].map((location) => ({ transport, scope: 'b', digest: digestTransformedB, location })),
      );
      expect((await cache.candidateLocations(transport, 'b', digestTransformedB, { canSubstitute: false })).map((c) => c.location)).toEqual([
        'l3',
        'l2',
        'l1',
      ]);
    });

    it('reads see writes that were not awaited; concurrent writes all land', async () => {
      const writes = Array.from({ length: 50 }, (_, i) => cache.recordKnownLocation(transport, 'c', digestTransformedA, `loc${i}`));
      const seen = await cache.candidateLocations(transport, 'c', digestTransformedA, { canSubstitute: false });
      await Promise.all(writes);
      expect(seen).toHaveLength(50);
      expect(seen[0]?.location).toBe('loc49');
    });

    it('forgetLocations drops the locations of those digests in that transport and scope only', async () => {
      await cache.recordKnownLocation(transport, 's', digestTransformedA, 'a');
      await cache.recordKnownLocation(transport, 's', digestTransformedB, 'b');
      await cache.recordKnownLocation(transport, 'other', digestTransformedA, 'a2');
      await cache.forgetLocations(transport, 's', [digestTransformedA]);
      expect(await cache.candidateLocations(transport, 's', digestTransformedA, { canSubstitute: false })).toEqual([]);
      expect(await cache.candidateLocations(transport, 's', digestTransformedB, { canSubstitute: false })).toHaveLength(1);
      expect(await cache.candidateLocations(transport, 'other', digestTransformedA, { canSubstitute: false })).toHaveLength(1);
    });

    describe('rejects bad digests before storing anything', () => {
      for (const [label, bad] of BAD_DIGESTS) {
        it(label, async () => {
          const d = bad as string;
          const calls: Array<() => Promise<unknown>> = [
            () => cache.recordKnownLocation(transport, 's', d, 'x'),
            () => cache.recordKnownLocations([{ transport, scope: 's', digest: d, location: 'x' }]),
            () => cache.recordDigestUntransformedPair(d, digestUntransformed),
            () => cache.recordDigestUntransformedPair(digestTransformedA, d),
            () => cache.untransformedDigest(d),
            () => cache.recordDigestTransformerName(d, 'gzip'),
            () => cache.candidateLocations(transport, 's', d, { canSubstitute: true }),
            () => cache.forgetLocations(transport, 's', [d]),
          ];
          for (const call of calls) await expect(call()).rejects.toBeInstanceOf(InvalidDigestError);
          expect(await cache.untransformedDigest(digestTransformedA)).toBeUndefined();
        });
      }
    });

    it('a batch with one bad entry stores none of it', async () => {
      await expect(
        cache.recordKnownLocations([
          { transport, scope: 's', digest: digestTransformedA, location: 'ok' },
          { transport, scope: 's', digest: 'sha256:nope', location: 'bad' },
        ]),
      ).rejects.toBeInstanceOf(InvalidDigestError);
      expect(await cache.candidateLocations(transport, 's', digestTransformedA, { canSubstitute: false })).toEqual([]);
    });

    it('rejects an empty location or transformer name', async () => {
      await expect(cache.recordKnownLocation(transport, 's', digestTransformedA, '')).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(cache.recordDigestTransformerName(digestTransformedA, '')).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('close is idempotent; a closed cache fails with CacheUnavailableError', async () => {
      await cache.recordKnownLocation(transport, 's', digestTransformedA, 'x');
      await cache.close();
      await cache.close();
      await expect(cache.candidateLocations(transport, 's', digestTransformedA, { canSubstitute: false })).rejects.toBeInstanceOf(
        CacheUnavailableError,
      );
      await expect(cache.recordKnownLocation(transport, 's', digestTransformedA, 'y')).rejects.toBeInstanceOf(CacheUnavailableError);
    });
  });
}
