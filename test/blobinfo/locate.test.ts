/**
 * Ports the original's blobinfo_test.go (TestBlobInfoCache, run against the memory cache from NewCache(''))
 * and runs it against both backends; then the invalidation of store locations when motes are removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CacheUnavailableError,
  FileMoteCache,
  InvalidDescriptorError,
  InvalidDigestError,
  InvalidReferenceError,
  LayerBlobInfo,
  MemoryBlobInfoCache,
  SqliteBlobInfoCache,
  StoreBlobInfoCache,
  blobInfoCacheFor,
  locateLayer,
  locateLayerDigest,
  openBlobInfoCache,
  parseReference,
  recordLayerSource,
  type BlobInfoCache,
  type Reference,
} from '../../src/index.js';
import { LAYER_SCOPE, MOTE_TRANSPORT, UNKNOWN_TRANSFORMER, blobInfoPathFor } from '../../src/blobinfo/index.js';
import { makeTempDir } from '../helpers/tmp.js';

const digestA = `sha256:${'2'.repeat(64)}`;
const digestB = `sha256:${'3'.repeat(64)}`;
const digestC = `sha256:${'4'.repeat(64)}`;
const digestD = `sha256:${'5'.repeat(64)}`;

function makeSources(): [Array<{ digest: string }>, Reference[]] {
  const descs = [{ digest: digestA }, { digest: digestB }, { digest: digestC }, { digest: digestA }, { digest: digestC }];
  const srcs = ['any.host/store/a', 'another.host/with/b', 'final.host/having/c', 'duplicate.host/with/a', 'duplicate.host/with/c'].map(
    parseReference,
  );
  return [descs, srcs];
}

async function recordAll(bic: BlobInfoCache): Promise<void> {
  const [descs, srcs] = makeSources();
  for (let i = 0; i < descs.length; i++) await recordLayerSource(bic, descs[i]!, srcs[i]!);
}

const backends: Array<[string, () => { bic: BlobInfoCache; done: () => void }]> = [
  ['memory', () => ({ bic: openBlobInfoCache(''), done: () => {} })],
  [
    'sqlite',
    () => {
      const tmp = makeTempDir('motecache-locate-');
      return { bic: new SqliteBlobInfoCache(path.join(tmp.dir, 'bic.db')), done: tmp.cleanup };
    },
  ],
];

for (const [name, make] of backends) {
  describe(`TestBlobInfoCache (${name})`, () => {
    let bic: BlobInfoCache;
    let done: () => void;
    beforeEach(() => ({ bic, done } = make()));
    afterEach(async () => {
      await bic.close();
      done();
    });

    it('testFallback: an empty path gives the memory cache', () => {
      expect(openBlobInfoCache('')).toBeInstanceOf(MemoryBlobInfoCache);
    });

    it('record single source', async () => {
      const [descs, srcs] = makeSources();
      await recordLayerSource(bic, descs[0]!, srcs[0]!);
      const candidates = await bic.candidateLocations('oci', LAYER_SCOPE, descs[0]!.digest, { canSubstitute: false });
      expect(candidates.map(({ lastSeen: _, ...c }) => c)).toEqual([
        { digest: descs[0]!.digest, transformerName: UNKNOWN_TRANSFORMER, location: srcs[0]!.toString() },
      ]);
      expect(candidates[0]!.location).toBe('any.host/store/a:latest');
    });

    it('record multiple sources: newest first', async () => {
      const [descs, srcs] = makeSources();
      await recordAll(bic);
      const candidates = await bic.candidateLocations('oci', LAYER_SCOPE, descs[0]!.digest, { canSubstitute: false });
      expect(candidates.map((c) => c.location)).toEqual([srcs[3]!.toString(), srcs[0]!.toString()]);
      expect(candidates.every((c) => c.transformerName === UNKNOWN_TRANSFORMER && c.digest === digestA)).toBe(true);
    });

    it('locate layer not found', async () => {
      await recordAll(bic);
      expect(await locateLayer(bic, { digest: digestD }, parseReference('any.host/store/a'), false)).toHaveLength(0);
    });

    it('locate layer single', async () => {
      await recordAll(bic);
      const refs = await locateLayerDigest(bic, digestB, parseReference('any.host/store/a'), false);
      expect(refs).toHaveLength(1);
      expect({ ...refs[0] }).toEqual({ registry: 'another.host', repository: 'with/b', tag: 'latest', digest: undefined });
    });

    it('locate layer match reg', async () => {
      await recordAll(bic);
      const refs = await locateLayer(bic, { digest: digestA }, parseReference('duplicate.host/store/a'), true);
      expect(refs.map(String)).toEqual(['duplicate.host/with/a:latest']);
    });

    it('locate layer with multiple sources: newest first', async () => {
      await recordAll(bic);
      const refs = await locateLayer(bic, { digest: digestA }, 'duplicate.host/store/a', false);
      expect(refs.map(String)).toEqual(['duplicate.host/with/a:latest', 'any.host/store/a:latest']);
    });

    it('locate all sources for list of layers (GetSources)', async () => {
      await recordAll(bic);
      const lbi = new LayerBlobInfo([{ digest: digestA }, { digest: digestB }]);
      const sources = await lbi.getSources(bic);
      expect(sources.size).toBe(2);
      expect(sources.get(digestB)).toEqual(['another.host/with/b:latest']);
      expect(sources.get(digestA)).toEqual(['duplicate.host/with/a:latest', 'any.host/store/a:latest']);
    });

    it('GetSources: unknown layers map to [], duplicates and plain digests are accepted', async () => {
      await recordAll(bic);
      const sources = await new LayerBlobInfo([digestC, { digest: digestC }, digestD]).getSources(bic);
      expect([...sources.keys()]).toEqual([digestC, digestD]);
      expect(sources.get(digestC)).toEqual(['duplicate.host/with/c:latest', 'final.host/having/c:latest']);
      expect(sources.get(digestD)).toEqual([]);
    });

    it('bad stored entries are skipped, not fatal', async () => {
      await recordAll(bic);
      await bic.recordKnownLocation('oci', LAYER_SCOPE, digestA, 'NOT A REFERENCE');
      await bic.recordKnownLocation('oci', LAYER_SCOPE, digestA, 'https://scheme.host/x');
      expect((await locateLayerDigest(bic, digestA, 'any.host/x', false)).map(String)).toEqual([
        'duplicate.host/with/a:latest',
        'any.host/store/a:latest',
      ]);
      expect((await new LayerBlobInfo([digestA]).getSources(bic)).get(digestA)).toHaveLength(2);
    });

    it('recording a source again makes it the newest', async () => {
      await recordAll(bic);
      await recordLayerSource(bic, { digest: digestA }, 'any.host/store/a');
      expect((await locateLayerDigest(bic, digestA, 'x.io/y', false)).map(String)).toEqual([
        'any.host/store/a:latest',
        'duplicate.host/with/a:latest',
      ]);
    });

    it('typed errors for bad descriptors, digests and references', async () => {
      await expect(recordLayerSource(bic, { digest: 'sha256:nope' }, 'r.io/x')).rejects.toBeInstanceOf(InvalidDescriptorError);
      await expect(recordLayerSource(bic, { digest: digestA }, 'R.io/X')).rejects.toBeInstanceOf(InvalidReferenceError);
      await expect(locateLayer(bic, { digest: '' }, 'r.io/x', false)).rejects.toBeInstanceOf(InvalidDescriptorError);
      await expect(locateLayerDigest(bic, 'md5:x', 'r.io/x', false)).rejects.toBeInstanceOf(InvalidDigestError);
      await expect(locateLayerDigest(bic, digestA, 'https://r.io/x', false)).rejects.toBeInstanceOf(InvalidReferenceError);
      expect(() => new LayerBlobInfo(['nope'])).toThrow(InvalidDigestError);
      expect(() => new LayerBlobInfo([{ digest: 'nope' }])).toThrow(InvalidDescriptorError);
    });

    it('a missing cache is tolerated by recordLayerSource (as the original)', async () => {
      await expect(recordLayerSource(undefined, { digest: digestA }, 'r.io/x')).resolves.toBeUndefined();
    });
  });
}

describe('invalidation: the blob-info cache of a FileMoteCache', () => {
  let tmp: { dir: string; cleanup: () => void };
  let cache: FileMoteCache;
  let bic: StoreBlobInfoCache;
  beforeEach(async () => {
    tmp = makeTempDir('motecache-bicstore-');
    cache = new FileMoteCache(path.join(tmp.dir, 'store'), { durable: false });
    bic = await blobInfoCacheFor(cache);
  });
  afterEach(async () => {
    await bic.close();
    await cache.close();
    tmp.cleanup();
  });

  it('keeps its database inside the root', () => {
    expect(bic.path).toBe(path.join(path.resolve(tmp.dir, 'store'), '.mote', 'blobinfo.db'));
    expect(blobInfoPathFor(cache)).toBe(bic.path);
    expect(bic.scope).toBe(path.resolve(cache.root));
  });

  it('removeMote forgets the store locations of that mote, and only those', async () => {
    const a = await cache.put(Buffer.from('layer a'));
    const b = await cache.put(Buffer.from('layer b'));
    await bic.recordInStore(a.digest);
    await bic.recordInStore(b.digest);
    await recordLayerSource(bic, a, 'r.io/x'); // a remote location: not in the store, kept
    expect((await bic.storeLocations(a.digest)).map((c) => c.location)).toEqual([cache.moteRef(a.digest)]);
    await cache.removeMote(a.digest);
    expect(await bic.storeLocations(a.digest)).toEqual([]);
    expect(await bic.storeLocations(b.digest)).toHaveLength(1);
    expect((await locateLayerDigest(bic, a.digest, 'r.io/y', false)).map(String)).toEqual(['r.io/x:latest']);
  });

  it('prune forgets every pruned mote', async () => {
    const puts = [];
    for (let i = 0; i < 5; i++) puts.push(await cache.put(Buffer.alloc(1000, i)));
    for (const p of puts) await bic.recordInStore(p.digest);
    const res = await cache.prune(0);
    expect(res.removed).toBeGreaterThanOrEqual(5);
    for (const p of puts) expect(await bic.storeLocations(p.digest)).toEqual([]);
  });

  it('the forgetting is durable (seen by a fresh instance on the same file)', async () => {
    const a = await cache.put(Buffer.from('durable'));
    await bic.recordInStore(a.digest);
    await cache.removeMote(a.digest);
    await new Promise((r) => setImmediate(r)); // the forget commits at the end of the tick
    const other = new SqliteBlobInfoCache(bic.path);
    expect(await other.candidateLocations(MOTE_TRANSPORT, bic.scope, a.digest, { canSubstitute: false })).toEqual([]);
    await other.close();
  });

  it('after close, removals no longer reach the cache (unsubscribed) and do not fail', async () => {
    const a = await cache.put(Buffer.from('after close'));
    await bic.recordInStore(a.digest);
    await bic.close();
    await expect(cache.removeMote(a.digest)).resolves.toBeUndefined();
    bic = await blobInfoCacheFor(cache);
    // The row outlived the blob (nobody was subscribed)...
    expect(await bic.candidateLocations(MOTE_TRANSPORT, bic.scope, a.digest, { canSubstitute: false })).toHaveLength(1);
    // ...but the store's own view checks the blob, reports nothing, and forgets the row.
    expect(await bic.storeLocations(a.digest)).toEqual([]);
    expect(await bic.candidateLocations(MOTE_TRANSPORT, bic.scope, a.digest, { canSubstitute: false })).toEqual([]);
  });

  it('a mote removed behind its back (another instance on the root, like another process or `mote prune`) is not reported', async () => {
    const a = await cache.put(Buffer.from('removed elsewhere'));
    const b = await cache.put(Buffer.from('still here'));
    await bic.recordInStore(a.digest);
    await bic.recordInStore(b.digest);
    const elsewhere = new FileMoteCache(cache.root, { durable: false });
    await elsewhere.removeMote(a.digest);
    await elsewhere.close();
    expect(await bic.storeLocations(a.digest)).toEqual([]);
    expect((await bic.storeLocations(b.digest)).map((c) => c.location)).toEqual([cache.moteRef(b.digest)]);
  });
});

describe('registry hosts whose name is also a transport name', () => {
  it('a source on dir:5000 is found by getSources and locateLayer like any other', async () => {
    const bic = openBlobInfoCache('');
    const layer = { digest: digestA };
    await recordLayerSource(bic, layer, 'dir:5000/repo');
    await recordLayerSource(bic, layer, 'quay.io/x');
    const sources = await new LayerBlobInfo([layer]).getSources(bic);
    expect(sources.get(digestA)).toEqual(['quay.io/x:latest', 'dir:5000/repo:latest']);
    expect((await locateLayer(bic, layer, 'dir:5000/y', false)).map(String)).toEqual(['quay.io/x:latest', 'dir:5000/repo:latest']);
    expect((await locateLayer(bic, layer, 'dir:5000/y', true)).map(String)).toEqual(['dir:5000/repo:latest']);
    await bic.close();
  });
});

describe('a FileMoteCache keeps serving blobs when its metadata stores are unavailable', () => {
  it('blobinfo.db and index.db unusable (directories): the store-scoped cache fails typed, the store works', async () => {
    const tmp = makeTempDir('motecache-bicdown-');
    try {
      const root = path.join(tmp.dir, 'store');
      const cache = new FileMoteCache(root, { durable: false });
      await cache.initialize();
      const indexDb = path.join(cache.root, '.mote', 'index.db');
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(indexDb + suffix, { force: true, recursive: true });
      await cache.close();
      fs.mkdirSync(indexDb);
      fs.mkdirSync(blobInfoPathFor(cache));
      const onWarning = (): void => undefined;
      process.on('warning', onWarning);
      try {
        const store = new FileMoteCache(root, { durable: false });
        await expect(blobInfoCacheFor(store)).rejects.toBeInstanceOf(CacheUnavailableError);
        const { digest } = await store.put(Buffer.from('served anyway'));
        expect((await store.get(digest)).toString()).toBe('served anyway');
        await store.removeMote(digest);
        expect(await store.moteExists(digest)).toBe(false);
        await store.close();
      } finally {
        process.off('warning', onWarning);
      }
    } finally {
      tmp.cleanup();
    }
  });
});
