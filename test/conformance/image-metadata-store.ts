/**
 * Conformance suite for `ImageMetadataStore` on every key/value backend: repository states (100,000 tags
 * included), whole-or-nothing reads of chunked values under concurrent rewrites, image facts stored once per
 * digest and read in one `getMany`, leases, validation, damaged records, and a closed store.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { createHash } from 'node:crypto';
import { CacheUnavailableError, InvalidArgumentError, InvalidDigestError } from '../../src/errors.js';
import { digestOf } from '../../src/digest/index.js';
import {
  KvImageMetadataStore,
  MAX_VALUE_BYTES,
  metadataKeys,
  type ImageInfo,
  type ImageMetadataStore,
  type KeyValueStore,
  type RepositoryState,
  type TagState,
} from '../../src/metadata/index.js';
import { BAD_DIGESTS } from '../helpers/bad-digests.js';
import { rejectsWith, until, type KeyValueHarness } from './key-value-store.js';
import { RecordingStore } from './recording-store.js';

const REPO = 'registry.example.com/team/app';
const d = (s: string | number) => digestOf(`image ${s}`);

export const BAD_REPOSITORY_NAMES: Array<[string, unknown]> = [
  ['empty', ''],
  ['no registry', 'team/app'],
  ['one component', 'alpine'],
  ['Docker Hub without library/', 'docker.io/alpine'],
  ['index.docker.io spelling', 'index.docker.io/library/alpine'],
  ['with a tag', `${REPO}:1.0`],
  ['with a digest', `${REPO}@${d('x')}`],
  ['uppercase path', 'registry.example.com/Team/app'],
  ['double slash', 'registry.example.com/team//app'],
  ['trailing slash', `${REPO}/`],
  ['registry only', 'registry.example.com/'],
  ['space', 'registry.example.com/my app'],
  ['scheme', `https://${REPO}`],
  ['too long', `registry.example.com/${'a'.repeat(250)}`],
  ['not a string', 42],
  ['undefined', undefined],
];

function tag(digest: string, i = 0, extra: Partial<TagState> = {}): TagState {
  return { digest, checkedAt: 1_700_000_000_000 + i, intervalMs: 300_000, deadline: 1_700_000_300_000 + i, ...extra };
}

export function stateWith(repository: string, count: number, digestOf: (i: number) => string, prefix = 'v'): RepositoryState {
  const tags: Record<string, TagState> = {};
  for (let i = 0; i < count; i++) tags[`${prefix}${i}`] = tag(digestOf(i), i);
  return { repository, lastUpdate: 1_700_000_000_000, tags };
}

function image(digest: string, extra: Partial<ImageInfo> = {}): ImageInfo {
  return {
    reference: `${REPO}@${digest}`,
    digest,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    configDigest: d(`config of ${digest}`),
    createdAt: '2024-05-01T12:00:00Z',
    labels: { 'org.opencontainers.image.source': 'https://example.com/app', empty: '' },
    platforms: [{ os: 'linux', architecture: 'arm64', variant: 'v8', digest }],
    layers: [{ digest: d(`layer of ${digest}`), size: 1234, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }],
    size: 4321,
    lastFetched: 1_700_000_000_000,
    ...extra,
  } as ImageInfo;
}

/** A record as `records.ts` documents it: a JSON head line with the body's length and SHA-256, then the body. */
function inlineRecord(body: string): Buffer {
  const bytes = Buffer.from(body);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return Buffer.concat([Buffer.from(`${JSON.stringify({ v: 1, bytes: bytes.length, sha256 })}\n`), bytes]);
}

export function imageMetadataStoreConformance(
  name: string,
  make: () => Promise<KeyValueHarness>,
  build: (kv: KeyValueStore) => ImageMetadataStore = (kv) => new KvImageMetadataStore(kv),
): void {
  describe(`ImageMetadataStore conformance: ${name}`, () => {
    let h: KeyValueHarness;
    let kv: RecordingStore;
    let store: ImageMetadataStore;
    const others: ImageMetadataStore[] = [];

    beforeEach(async () => {
      h = await make();
      kv = new RecordingStore(h.store);
      store = build(kv);
    });
    afterEach(async () => {
      for (const o of others.splice(0)) await o.close();
      await store.close();
      await h.cleanup();
    });

    /** Another store on the same data, on its own connection where the backend has them. */
    async function another(): Promise<ImageMetadataStore> {
      const o = build(h.peer ? await h.peer() : h.store);
      if (h.peer) others.push(o);
      return o;
    }

    it('a repository round-trips (unresolved and excluded tags, lastError); unknown is undefined; put replaces', async () => {
      expect(await store.getRepository(REPO)).toBeUndefined();
      const state: RepositoryState = {
        repository: REPO,
        lastUpdate: 1_700_000_000_000,
        // fromEntries: `__proto__` is a valid tag, and must stay one (a literal would set the prototype).
        tags: Object.fromEntries([
          ['latest', tag(d(1))],
          ['1.0', tag(d(2), 1)],
          ['new', tag('', 2)],
          ['skipped', tag(d(3), 3, { excluded: 'excluded by the tag filter' })],
          ['__proto__', tag(d(4), 4)],
        ]),
        lastError: { message: 'registry answered 503', code: 'ERR_REGISTRY_UNAVAILABLE', at: 1_700_000_100_000 },
      };
      await store.putRepository(state);
      const got = await store.getRepository(REPO);
      expect(got).toEqual(state);
      expect(Object.hasOwn(got!.tags, '__proto__')).toBe(true);
      const next = stateWith(REPO, 3, d);
      await store.putRepository(next);
      expect(await store.getRepository(REPO)).toEqual(next);
      expect(await store.getRepository('registry.example.com/team/other')).toBeUndefined();
    });

    it('repository names: canonical registry/repository only, else InvalidArgumentError', async () => {
      for (const [label, repo] of BAD_REPOSITORY_NAMES) {
        const err = await rejectsWith(() => store.getRepository(repo as string), InvalidArgumentError);
        expect(err.message, label).toMatch(/repository/);
        await rejectsWith(() => store.putRepository({ ...stateWith(REPO, 1, d), repository: repo as string }), InvalidArgumentError);
      }
      for (const good of ['docker.io/library/alpine', 'localhost:5000/app', 'localhost/app', '[::1]:5000/a/b/c', 'ghcr.io/a-b/c_d.e']) {
        await store.putRepository(stateWith(good, 1, d));
        expect((await store.getRepository(good))?.repository).toBe(good);
      }
    });

    it('bad states are refused with typed errors, and nothing is stored', async () => {
      const good = stateWith(REPO, 2, d);
      const bad: Array<[unknown, new (...a: never[]) => Error]> = [
        [null, InvalidArgumentError],
        [{ ...good, tags: undefined }, InvalidArgumentError],
        [{ ...good, tags: [] }, InvalidArgumentError],
        [{ ...good, lastUpdate: -1 }, InvalidArgumentError],
        [{ ...good, lastUpdate: Number.NaN }, InvalidArgumentError],
        [{ ...good, tags: { '-bad': tag(d(1)) } }, InvalidArgumentError],
        [{ ...good, tags: { 'a b': tag(d(1)) } }, InvalidArgumentError],
        [{ ...good, tags: { ['x'.repeat(129)]: tag(d(1)) } }, InvalidArgumentError],
        [{ ...good, tags: { ok: { ...tag(d(1)), deadline: '0' } } }, InvalidArgumentError],
        [{ ...good, tags: { ok: null } }, InvalidArgumentError],
        [{ ...good, lastError: { message: 5, at: 0 } }, InvalidArgumentError],
        [{ ...good, tags: { ok: tag('sha256:nothex') } }, InvalidDigestError],
        [{ ...good, tags: { ok: tag(d(1).toUpperCase()) } }, InvalidDigestError],
      ];
      for (const [state, cls] of bad) await rejectsWith(() => store.putRepository(state as RepositoryState), cls);
      expect(kv.calls.filter((c) => c.op !== 'get')).toEqual([]);
      expect(await store.getRepository(REPO)).toBeUndefined();
    });

    it('a repository with 100,000 tags round-trips (chunked below MAX_VALUE_BYTES)', async () => {
      const state = stateWith(REPO, 100_000, (i) => d(i % 500));
      await store.putRepository(state);
      const chunks = kv.setKeys().filter((key) => key.includes('|chunk|'));
      // ~4.8 MB as columns (repository-codec.ts): dozens of chunks.
      expect(chunks.length).toBeGreaterThan(50);
      expect(kv.largestValue).toBeLessThanOrEqual(MAX_VALUE_BYTES);
      const got = await store.getRepository(REPO);
      expect(Object.keys(got!.tags)).toHaveLength(100_000);
      expect(JSON.stringify(got)).toBe(JSON.stringify(state));
      expect(got!.tags.v99999).toEqual(state.tags.v99999);
    });

    it('a name too long for a plain key round-trips under a hashed key, apart from a sibling name', async () => {
      const base = `registry.example.com/${'component/'.repeat(21)}`;
      const a = `${base}aa`;
      const b = `${base}ab`;
      expect(a.length).toBeGreaterThan(200);
      expect(a.length).toBeLessThanOrEqual(255);
      await store.putRepository(stateWith(a, 2, d, 'a'));
      await store.putRepository(stateWith(b, 3, d, 'b'));
      expect(await store.getRepository(a)).toEqual(stateWith(a, 2, d, 'a'));
      expect(await store.getRepository(b)).toEqual(stateWith(b, 3, d, 'b'));
    });

    it('keepNewer: a state older than the stored one is not written (false), unless the stored one is beyond trustUntil; without it put replaces', async () => {
      const at = (lastUpdate: number, n = 2): RepositoryState => ({ ...stateWith(REPO, n, d), lastUpdate });
      expect(await store.putRepository(at(2000), { keepNewer: { trustUntil: 5000 } })).toBe(true);
      expect(await store.putRepository(at(1000), { keepNewer: { trustUntil: 5000 } })).toBe(false);
      expect((await store.getRepository(REPO))!.lastUpdate).toBe(2000);
      expect(await store.putRepository(at(2000, 3), { keepNewer: { trustUntil: 5000 } }), 'the same lastUpdate replaces').toBe(true);
      expect(Object.keys((await store.getRepository(REPO))!.tags)).toHaveLength(3);
      expect(await store.putRepository(at(1000), { keepNewer: { trustUntil: 1500 } }), 'stored 2000 is beyond trustUntil 1500: a clock ahead').toBe(true);
      expect((await store.getRepository(REPO))!.lastUpdate).toBe(1000);
      expect(await store.putRepository(at(500)), 'without keepNewer').toBe(true);
      expect((await store.getRepository(REPO))!.lastUpdate).toBe(500);
      // Chunked, kept: the refused writer's chunks are deleted, the stored value stays whole.
      const big = at(9000, 3000);
      expect(await store.putRepository(big)).toBe(true);
      kv.calls.length = 0;
      expect(await store.putRepository(at(8000, 4000), { keepNewer: { trustUntil: 10_000 } })).toBe(false);
      const refused = kv.setKeys().filter((key) => key.includes('|chunk|'));
      expect(refused.length).toBeGreaterThan(1);
      expect((await h.store.getMany(refused)).every((v) => v === undefined)).toBe(true);
      expect(JSON.stringify(await store.getRepository(REPO))).toBe(JSON.stringify(big));
      await rejectsWith(() => store.putRepository(at(1), { keepNewer: { trustUntil: Number.NaN } }), InvalidArgumentError);
    });

    it('keepNewer under overlapping writers on several connections: the newest state written is the one stored', async () => {
      const writers = [store, await another(), await another()];
      const times = Array.from({ length: 18 }, (_, i) => 1_000 + ((i * 7) % 18) * 100);
      const results = await Promise.all(
        times.map((t, i) => writers[i % writers.length]!.putRepository({ ...stateWith(REPO, i % 2 ? 2500 : 3, d), lastUpdate: t }, { keepNewer: { trustUntil: 1e13 } })),
      );
      expect((await store.getRepository(REPO))!.lastUpdate).toBe(Math.max(...times));
      expect(results.filter(Boolean).length).toBeGreaterThan(0);
    });

    it('rewrites switch between inline and chunked; the replaced chunks are deleted', async () => {
      const big = stateWith(REPO, 3000, d);
      await store.putRepository(big);
      const firstChunks = kv.setKeys().filter((key) => key.includes('|chunk|'));
      expect(firstChunks.length).toBeGreaterThan(1);
      const small = stateWith(REPO, 2, d);
      await store.putRepository(small);
      expect(await store.getRepository(REPO)).toEqual(small);
      expect((await h.store.getMany(firstChunks)).every((v) => v === undefined)).toBe(true);
      kv.calls.length = 0;
      const bigger = stateWith(REPO, 4000, (i) => d(i + 1));
      await store.putRepository(bigger);
      expect(await store.getRepository(REPO)).toEqual(bigger);
      const secondChunks = kv.setKeys().filter((key) => key.includes('|chunk|'));
      await store.putRepository(stateWith(REPO, 5000, d));
      expect((await h.store.getMany(secondChunks)).every((v) => v === undefined)).toBe(true);
    });

    it('chunked rewrites concurrent with reads: every read is one whole written value, never a mix', async () => {
      const a = stateWith(REPO, 2500, () => d('A'), 'a');
      const b = stateWith(REPO, 3500, () => d('B'), 'b');
      const whole = new Set([JSON.stringify(a), JSON.stringify(b)]);
      await store.putRepository(a);
      const readers = [store, await another(), await another()];
      let writing = true;
      let reads = 0;
      const writer = (async () => {
        try {
          for (let i = 0; i < 30; i++) await store.putRepository(i % 2 ? a : b);
        } finally {
          writing = false;
        }
      })();
      await Promise.all([
        writer,
        ...readers.map(async (r) => {
          while (writing) {
            const got = await r.getRepository(REPO);
            expect(got && whole.has(JSON.stringify(got)), 'a whole A or B').toBe(true);
            reads++;
          }
        }),
      ]);
      expect(reads).toBeGreaterThan(3);
    });

    it('overlapping writers of one record (chunked and inline, several connections): no chunk is left that no head names; readers never see it absent', async () => {
      const values = [
        stateWith(REPO, 2500, () => d('A'), 'a'),
        stateWith(REPO, 3000, () => d('B'), 'b'),
        stateWith(REPO, 3, () => d('C'), 'c'), // inline: replaces a chunked head too
        stateWith(REPO, 3500, () => d('D'), 'd'),
      ];
      const whole = new Set(values.map((v) => JSON.stringify(v)));
      // Every writer's backend calls are recorded: the chunk keys any of them wrote are the ones to look for after.
      const recorders = [kv];
      const writers = [store];
      for (let i = 0; i < 2; i++) {
        const r = new RecordingStore(h.peer ? await h.peer() : h.store);
        const o = build(r);
        if (h.peer) others.push(o);
        recorders.push(r);
        writers.push(o);
      }
      await store.putRepository(values[0]!);
      let writing = true;
      let reads = 0;
      const rounds = (async () => {
        try {
          for (let round = 0; round < 6; round++) {
            await Promise.all(Array.from({ length: 6 }, (_, i) => writers[i % writers.length]!.putRepository(values[(round + i) % values.length]!)));
          }
        } finally {
          writing = false;
        }
      })();
      const reader = await another();
      await Promise.all([
        rounds,
        (async () => {
          while (writing) {
            const got = await reader.getRepository(REPO);
            expect(got && whole.has(JSON.stringify(got)), 'a whole value, never absent').toBe(true);
            reads++;
            // A writer waiting for another's turn sleeps on a timer: on the memory backend this loop alone would
            // never let one fire.
            await new Promise((resolve) => setImmediate(resolve));
          }
        })(),
      ]);
      expect(reads).toBeGreaterThan(0);
      const head = (await h.store.get(metadataKeys.repository(REPO)))!;
      const headGen = (JSON.parse(head.subarray(0, head.indexOf(0x0a)).toString('utf8')) as { gen?: string }).gen;
      const written = [...new Set(recorders.flatMap((r) => r.setKeys()).filter((k) => k.includes('|chunk|')))];
      // 36 chunked writes of 2-3 chunks each: the race had many generations to leave behind.
      expect(written.length).toBeGreaterThan(50);
      const stray = written.filter((k) => k.split('|')[2] !== headGen);
      const left = await h.store.getMany(stray);
      const orphans = [...new Set(stray.filter((_, i) => left[i] !== undefined).map((k) => k.split('|')[2]))];
      expect(orphans, 'generations of chunks no head names').toEqual([]);
      expect(whole.has(JSON.stringify(await store.getRepository(REPO)))).toBe(true);
    });

    it('a damaged or mixed record is never returned: it reads as absent', async () => {
      const key = metadataKeys.repository(REPO);
      await store.putRepository(stateWith(REPO, 3000, d));
      const chunks = kv.setKeys().filter((k) => k.includes('|chunk|'));
      // One chunk of the value replaced by other bytes of the same length: the head's hash no longer matches.
      const c1 = (await h.store.get(chunks[1]!))!;
      await h.store.set(chunks[1]!, Buffer.alloc(c1.length, 0x20));
      expect(await store.getRepository(REPO)).toBeUndefined();
      await h.store.set(chunks[1]!, c1);
      expect(await store.getRepository(REPO)).toEqual(stateWith(REPO, 3000, d));
      await h.store.delete(chunks[2]!); // a chunk evicted
      expect(await store.getRepository(REPO)).toBeUndefined();
      const damaged = [
        Buffer.from('not a record'),
        Buffer.from('{"v":1}\n{}'),
        inlineRecord('not json'),
        inlineRecord(JSON.stringify({ ...stateWith(REPO, 1, d), tags: { ok: tag('sha256:nothex') } })),
        inlineRecord(JSON.stringify(stateWith('registry.example.com/someone/else', 1, d))), // another repository's
        Buffer.concat([inlineRecord(JSON.stringify(stateWith(REPO, 1, d))), Buffer.from(' ')]), // length mismatch
      ];
      for (const raw of damaged) {
        await h.store.set(key, raw);
        expect(await store.getRepository(REPO), raw.toString().slice(0, 60)).toBeUndefined();
      }
      await h.store.set(key, inlineRecord(JSON.stringify(stateWith(REPO, 1, d))));
      expect(await store.getRepository(REPO)).toEqual(stateWith(REPO, 1, d)); // the format the test writes is right
    });

    it('images: round trip, misses, replacing, and typed errors for bad digests and facts', async () => {
      expect(await store.getImage(d(1))).toBeUndefined();
      await store.putImage(image(d(1)));
      expect(await store.getImage(d(1))).toEqual(image(d(1)));
      const index = image(d(2), { mediaType: 'application/vnd.oci.image.index.v1+json', platforms: [] });
      delete index.configDigest;
      delete index.createdAt;
      await store.putImage(index);
      expect(await store.getImage(d(2))).toEqual(index);
      await store.putImage(image(d(1), { lastFetched: 1_800_000_000_000 }));
      expect((await store.getImage(d(1)))?.lastFetched).toBe(1_800_000_000_000);
      for (const [label, bad] of BAD_DIGESTS) {
        await rejectsWith(() => store.getImage(bad as string), InvalidDigestError);
        const err = await rejectsWith(() => store.getImages([d(1), bad as string]), InvalidDigestError);
        expect(err, label).toBeInstanceOf(InvalidDigestError);
        await rejectsWith(() => store.putImage(image(bad as string)), InvalidDigestError);
      }
      for (const bad of [{ size: -1 }, { size: 1.5 }, { reference: '' }, { reference: 'a b' }, { labels: { x: 1 } }, { platforms: {} }, { mediaType: '' }]) {
        await rejectsWith(() => store.putImage(image(d(3), bad as never)), InvalidArgumentError);
      }
      await rejectsWith(() => store.putImage(image(d(3), { configDigest: 'sha256:x' })), InvalidDigestError);
      expect(await store.getImage(d(3))).toBeUndefined();
      // A record under one digest's key holding another digest's facts is not returned.
      await h.store.set(metadataKeys.image(d(4)), (await h.store.get(metadataKeys.image(d(1))))!);
      expect(await store.getImage(d(4))).toBeUndefined();
    });

    it('an image is stored once however many tags point at it; getImages reads 1,000 in one getMany', async () => {
      const digests = [d('x'), d('y'), d('z')];
      const state = stateWith(REPO, 1000, (i) => digests[i % 3]!);
      await store.putRepository(state);
      for (let i = 0; i < 30; i++) await store.putImage(image(digests[i % 3]!, { reference: `${REPO}:v${i}@${digests[i % 3]}` }));
      expect(new Set(kv.setKeys().filter((key) => key.includes('|image|')))).toEqual(new Set(digests.map((x) => metadataKeys.image(x))));
      kv.calls.length = 0;
      const wanted = [...Object.values(state.tags).map((t) => t.digest), d('absent')];
      const got = await store.getImages(wanted);
      expect(kv.calls.map((c) => c.op)).toEqual(['getMany']);
      expect(got).toHaveLength(1001);
      got.slice(0, 1000).forEach((info, i) => expect(info?.digest).toBe(wanted[i]));
      expect(got[1000]).toBeUndefined();
      expect(await store.getImages([])).toEqual([]);
    });

    it('an image too large for one value round-trips too, alone and among others', async () => {
      const labels = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`label.${i}`, 'x'.repeat(4000)]));
      const big = image(d('big'), { labels });
      await store.putImage(big);
      await store.putImage(image(d('small')));
      expect(await store.getImage(d('big'))).toEqual(big);
      expect(await store.getImages([d('small'), d('big'), d('none')])).toEqual([image(d('small')), big, undefined]);
    });

    it('leases: one owner at a time; taking it again extends it; only the owner releases it', async () => {
      expect(await store.acquireLease('refresh|x', 'alice', 60_000)).toBe(true);
      expect(await store.acquireLease('refresh|x', 'bob', 60_000)).toBe(false);
      expect(await store.acquireLease('refresh|x', 'alice', 60_000)).toBe(true);
      expect(await store.acquireLease('refresh|y', 'bob', 60_000)).toBe(true); // another name
      await store.releaseLease('refresh|x', 'bob'); // not bob's: no effect
      expect(await store.acquireLease('refresh|x', 'bob', 60_000)).toBe(false);
      await store.releaseLease('refresh|x', 'alice');
      expect(await store.acquireLease('refresh|x', 'bob', 60_000)).toBe(true);
      await store.releaseLease('refresh|never', 'alice');
    });

    it('leases expire; an extended lease outlives its first TTL', async () => {
      expect(await store.acquireLease('extended', 'alice', 300)).toBe(true);
      expect(await store.acquireLease('short', 'alice', 300)).toBe(true);
      expect(await store.acquireLease('extended', 'alice', 600_000)).toBe(true);
      await until(() => store.acquireLease('short', 'bob', 600_000), 8000, 'the short lease to expire');
      // `extended` was taken before `short`: without the extension it would have expired by now too.
      expect(await store.acquireLease('extended', 'bob', 600_000)).toBe(false);
    });

    it('leases: of 24 owners racing on several connections, exactly one wins (5 rounds)', async () => {
      const stores = [store, await another(), await another()];
      for (let round = 0; round < 5; round++) {
        const results = await Promise.all(
          Array.from({ length: 24 }, (_, i) => stores[i % stores.length]!.acquireLease(`race${round}`, `owner${i}`, 60_000)),
        );
        expect(results.filter(Boolean), `round ${round}`).toHaveLength(1);
      }
    });

    it('lease names and owners: any text up to 1024 characters; else InvalidArgumentError', async () => {
      const odd = `refresh ${'ü'.repeat(300)}\n${'x'.repeat(500)}`;
      expect(await store.acquireLease(odd, 'owner with spaces', 60_000)).toBe(true);
      expect(await store.acquireLease(odd, 'other', 60_000)).toBe(false);
      for (const bad of ['', 'x'.repeat(1025), 42, undefined]) {
        await rejectsWith(() => store.acquireLease(bad as string, 'o', 1000), InvalidArgumentError);
        await rejectsWith(() => store.acquireLease('n', bad as string, 1000), InvalidArgumentError);
        await rejectsWith(() => store.releaseLease(bad as string, 'o'), InvalidArgumentError);
      }
      for (const ttl of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await rejectsWith(() => store.acquireLease('n', 'o', ttl), InvalidArgumentError);
      }
    });

    it('a closed store refuses every call with CacheUnavailableError; close is idempotent', async () => {
      await store.putRepository(stateWith(REPO, 1, d));
      await store.close();
      for (const call of [
        () => store.getRepository(REPO),
        () => store.putRepository(stateWith(REPO, 1, d)),
        () => store.getImage(d(1)),
        () => store.getImages([d(1)]),
        () => store.putImage(image(d(1))),
        () => store.acquireLease('l', 'o', 1000),
        () => store.releaseLease('l', 'o'),
      ]) {
        const err = await rejectsWith(call, CacheUnavailableError);
        expect((err as CacheUnavailableError).code).toBe('ERR_CACHE_UNAVAILABLE');
      }
      await store.close();
    });
  });
}
