import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Redis } from 'ioredis';
import {
  BlobUnknownError,
  CacheUnavailableError,
  InvalidArgumentError,
  MemoryBlobDescriptorCache,
  MemoryLayerInfoCache,
  RedisBlobDescriptorCache,
  RedisLayerInfoCache,
  digestOf,
} from '../../src/index.js';
import { redisCacheKeys } from '../../src/descriptor-cache/index.js';
import { blobDescriptorCacheConformance, layerInfoCacheConformance, type RawInspector } from '../conformance/descriptor-cache.js';
import { freePort } from '../helpers/net.js';
import { findRedisServer, redisUnavailableReason, startRedis, type RedisServer } from '../helpers/redis.js';

const haveRedis = !!findRedisServer();
if (!haveRedis) console.warn(`descriptor-cache.test: skipping the Redis tests: ${redisUnavailableReason()}`);

let server: RedisServer | undefined;
let client: Redis;

beforeAll(async () => {
  if (!haveRedis) return;
  server = await startRedis();
  client = new Redis(server.url, { lazyConnect: true });
  await client.connect();
});

afterAll(async () => {
  await client?.quit().catch(() => {});
  await server?.stop();
});

const raw = (): RawInspector => ({
  hgetall: (key) => client.hgetall(key),
  exists: async (key) => (await client.exists(key)) === 1,
  sismember: async (key, m) => (await client.sismember(key, m)) === 1,
});

// ---- conformance: every backend, both contracts ----

layerInfoCacheConformance('MemoryLayerInfoCache', async () => ({ cache: new MemoryLayerInfoCache(), cleanup: async () => {} }));
blobDescriptorCacheConformance('MemoryBlobDescriptorCache', async () => ({
  cache: new MemoryBlobDescriptorCache(),
  cleanup: async () => {},
}));

describe.skipIf(!haveRedis)('Redis backends', () => {
  layerInfoCacheConformance('RedisLayerInfoCache (client)', async () => {
    await client.flushdb();
    return { cache: new RedisLayerInfoCache(client), cleanup: async () => {} };
  });
  layerInfoCacheConformance('RedisLayerInfoCache (redis:// URL, owned client)', async () => {
    await client.flushdb();
    const cache = new RedisLayerInfoCache(server!.url);
    return { cache, cleanup: () => cache.close() };
  });
  blobDescriptorCacheConformance('RedisBlobDescriptorCache (client)', async () => {
    await client.flushdb();
    return { cache: new RedisBlobDescriptorCache(client), raw: raw(), cleanup: async () => {} };
  });
  blobDescriptorCacheConformance('RedisBlobDescriptorCache (redis:// URL, owned client)', async () => {
    await client.flushdb();
    const cache = new RedisBlobDescriptorCache(server!.url);
    return { cache, raw: raw(), cleanup: () => cache.close() };
  });
});

// ---- memory: the LRU bound ----

describe('memory caches: bounded LRU', () => {
  const dg = (i: number) => digestOf(`lru ${i}`);
  const desc = (i: number) => ({ digest: dg(i), size: i, mediaType: 'application/octet-stream' });

  it('default bound is 10,000 entries, and it holds', async () => {
    const c = new MemoryBlobDescriptorCache();
    expect(c.maxEntries).toBe(10_000);
    for (let i = 0; i < 10_050; i++) await c.setDescriptor(dg(i), desc(i));
    expect(c.size).toBe(10_000);
    await expect(c.stat(dg(0))).rejects.toBeInstanceOf(BlobUnknownError);
    expect(await c.stat(dg(10_049))).toEqual(desc(10_049));
    expect(new MemoryLayerInfoCache().maxEntries).toBe(10_000);
  });

  it('evicts the least recently used first; stat refreshes an entry', async () => {
    const c = new MemoryBlobDescriptorCache({ maxEntries: 3 });
    for (const i of [1, 2, 3]) await c.setDescriptor(dg(i), desc(i));
    await c.stat(dg(1)); // 1 is now the most recent; 2 the least
    await c.setDescriptor(dg(4), desc(4));
    await expect(c.stat(dg(2))).rejects.toBeInstanceOf(BlobUnknownError);
    for (const i of [1, 3, 4]) expect(await c.stat(dg(i))).toEqual(desc(i));
    await c.setDescriptor(dg(5), desc(5)); // evicts 1 (order now 1, 3, 4 -> 3, 4, 5 after touching 1,3,4 in turn)
    await expect(c.stat(dg(1))).rejects.toBeInstanceOf(BlobUnknownError);
    expect(c.size).toBe(3);
  });

  it('repository entries count against the same bound', async () => {
    const c = new MemoryBlobDescriptorCache({ maxEntries: 4 });
    for (let r = 0; r < 10; r++) await c.repositoryScoped(`repo/r${r}`).setDescriptor(dg(r), desc(r));
    expect(c.size).toBe(4);
  });

  it('layer info: memberships and metadata share the bound, LRU order', async () => {
    const c = new MemoryLayerInfoCache({ maxEntries: 2 });
    await c.add('foo/bar', dg(1));
    await c.setMeta(dg(1), { path: '/a', length: 1 });
    expect(await c.contains('foo/bar', dg(1))).toBe(true); // refreshes the membership
    await c.setMeta(dg(2), { path: '/b', length: 2 }); // evicts the meta of 1
    await expect(c.meta(dg(1))).rejects.toBeInstanceOf(BlobUnknownError);
    expect(await c.contains('foo/bar', dg(1))).toBe(true);
    expect(c.size).toBe(2);
  });

  it('rejects a bad bound', () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      expect(() => new MemoryBlobDescriptorCache({ maxEntries })).toThrow(InvalidArgumentError);
      expect(() => new MemoryLayerInfoCache({ maxEntries })).toThrow(InvalidArgumentError);
    }
  });
});

// ---- Redis: construction, sharing, failures ----

describe.skipIf(!haveRedis)('Redis caches: construction and faults', () => {
  it('rejects anything but an ioredis client or a redis:// URL, and a bad timeout', () => {
    for (const bad of ['http://127.0.0.1:6379', '127.0.0.1:6379', '', {} as never]) {
      expect(() => new RedisBlobDescriptorCache(bad)).toThrow(InvalidArgumentError);
      expect(() => new RedisLayerInfoCache(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => new RedisBlobDescriptorCache(client, { timeoutMs: 0 })).toThrow(InvalidArgumentError);
  });

  it('a URL-built cache owns its client and closes it; a passed client stays open', async () => {
    const owned = new RedisBlobDescriptorCache(server!.url);
    const x = { digest: digestOf('own'), size: 1, mediaType: 'a/b' };
    await owned.setDescriptor(x.digest, x);
    await owned.close();
    await owned.close(); // idempotent
    expect(owned.client.status).toBe('end');
    await expect(owned.stat(x.digest)).rejects.toBeInstanceOf(CacheUnavailableError);

    const shared = new RedisBlobDescriptorCache(client);
    expect(await shared.stat(x.digest)).toEqual(x);
    await shared.close(); // the cache is closed, the client is not ours and stays open
    await expect(shared.stat(x.digest)).rejects.toBeInstanceOf(CacheUnavailableError);
    expect(client.status).toBe('ready');
    expect(await new RedisBlobDescriptorCache(client).stat(x.digest)).toEqual(x);
  });

  it('layer info and descriptors share blobs::<digest>; clearing a descriptor keeps path and length', async () => {
    const dg = digestOf('shared hash');
    const layers = new RedisLayerInfoCache(client);
    const descs = new RedisBlobDescriptorCache(client);
    await layers.setMeta(dg, { path: '/docker/registry/v2/blobs/x', length: 3 });
    await layers.add('foo/bar', dg);
    await descs.setDescriptor(dg, { digest: dg, size: 3, mediaType: 'a/b' });
    await descs.clear(dg);
    expect(await client.hgetall(`blobs::${dg}`)).toEqual({ path: '/docker/registry/v2/blobs/x', length: '3' }); // distribution's key, spelled out
    expect(await layers.meta(dg)).toEqual({ path: '/docker/registry/v2/blobs/x', length: 3 });
    expect(await client.sismember('repository::foo/bar::blobs', dg)).toBe(1);
  });

  it('a corrupt or foreign entry is a miss, not a crash', async () => {
    const dg = digestOf('corrupt');
    await client.hset(redisCacheKeys.blob(dg), 'digest', dg, 'size', 'lots', 'mediatype', 'a/b', 'length', '-3', 'path', '/x');
    await expect(new RedisBlobDescriptorCache(client).stat(dg)).rejects.toBeInstanceOf(BlobUnknownError);
    await expect(new RedisLayerInfoCache(client).meta(dg)).rejects.toBeInstanceOf(BlobUnknownError);
    // A key of the wrong type is an unusable store.
    const dg2 = digestOf('wrongtype');
    await client.set(redisCacheKeys.blob(dg2), 'a string');
    await expect(new RedisBlobDescriptorCache(client).stat(dg2)).rejects.toBeInstanceOf(CacheUnavailableError);
  });

  async function expectUnavailableFast(op: () => Promise<unknown>, withinMs = 2000): Promise<void> {
    const t0 = performance.now();
    const err = await op().then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = performance.now() - t0;
    expect(err).toBeInstanceOf(CacheUnavailableError);
    expect((err as CacheUnavailableError).code).toBe('ERR_CACHE_UNAVAILABLE');
    expect(ms).toBeLessThan(withinMs);
  }

  it('nothing listening on the port: CacheUnavailableError within 2 s, for every operation', async () => {
    const port = await freePort();
    const dg = digestOf('down');
    const descs = new RedisBlobDescriptorCache(`redis://127.0.0.1:${port}`, { timeoutMs: 500 });
    const layers = new RedisLayerInfoCache(`redis://127.0.0.1:${port}`, { timeoutMs: 500 });
    try {
      await expectUnavailableFast(() => descs.stat(dg));
      await expectUnavailableFast(() => descs.setDescriptor(dg, { digest: dg, size: 1, mediaType: 'a/b' }));
      await expectUnavailableFast(() => descs.clear(dg));
      await expectUnavailableFast(() => descs.repositoryScoped('foo/bar').stat(dg));
      await expectUnavailableFast(() => layers.contains('foo/bar', dg));
      await expectUnavailableFast(() => layers.meta(dg));
      // Validation still comes first.
      await expect(descs.stat('nope')).rejects.toHaveProperty('code', 'ERR_INVALID_DIGEST');
    } finally {
      await descs.close();
      await layers.close();
    }
  });

  it('the server dies mid-use: CacheUnavailableError within 2 s, with a default-configured client too', async () => {
    const own = await startRedis();
    let again: RedisServer | undefined;
    // A client with ioredis defaults (20 retries per request, unbounded offline queue): the cache's own time
    // bound still applies.
    const plain = new Redis(own.url);
    plain.on('error', () => {});
    const byUrl = new RedisBlobDescriptorCache(own.url, { timeoutMs: 500 });
    const byClient = new RedisBlobDescriptorCache(plain, { timeoutMs: 500 });
    const dg = digestOf('dies');
    const x = { digest: dg, size: 1, mediaType: 'a/b' };
    try {
      await byUrl.setDescriptor(dg, x);
      expect(await byClient.stat(dg)).toEqual(x);
      await own.stop();
      await expectUnavailableFast(() => byUrl.stat(dg));
      await expectUnavailableFast(() => byClient.stat(dg));
      await expectUnavailableFast(() => byClient.repositoryScoped('foo/bar').setDescriptor(dg, x));
      await expectUnavailableFast(() => new RedisLayerInfoCache(plain, { timeoutMs: 500 }).add('foo/bar', dg));
      // Redis comes back on the same port: the same cache object works again after a reconnect.
      again = await startRedis(own.port);
      const deadline = Date.now() + 5000;
      let ok = false;
      while (!ok && Date.now() < deadline) {
        ok = await byUrl.setDescriptor(dg, x).then(
          () => true,
          () => false,
        );
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ok).toBe(true);
      expect(await byUrl.stat(dg)).toEqual(x);
    } finally {
      await byUrl.close();
      plain.disconnect();
      await own.stop();
      await again?.stop();
    }
  });
});
