import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { Redis } from 'ioredis';
import { CacheUnavailableError, InvalidArgumentError } from '../../src/errors.js';
import { RedisKeyValueStore } from '../../src/metadata/index.js';
import { keyValueStoreConformance, type KeyValueHarness } from '../conformance/key-value-store.js';
import { imageMetadataStoreConformance } from '../conformance/image-metadata-store.js';
import { freePort } from '../helpers/net.js';
import { findRedisServer, redisUnavailableReason, startRedis, type RedisServer } from '../helpers/redis.js';
import { expectUnavailableFast } from './unavailable.js';

const haveRedis = !!findRedisServer();
if (!haveRedis) console.warn(`metadata redis.test: skipping the Redis tests: ${redisUnavailableReason()}`);

let server: RedisServer | undefined;
let admin: Redis;

beforeAll(async () => {
  if (!haveRedis) return;
  server = await startRedis();
  admin = new Redis(server.url, { lazyConnect: true });
  await admin.connect();
});

afterAll(async () => {
  await admin?.quit().catch(() => {});
  await server?.stop();
});

/**
 * The conformance suites test what the stores do, not how fast a loaded machine runs them: each call's bound is
 * raised from the 1 s default (under a full CI run, 18 writers contending for one record's lock saw single calls
 * take over a second). The bound itself is tested below with stores of their own.
 */
const HARNESS_OPTIONS = { timeoutMs: 10_000 };

/** A store on its own connection (owned, from the URL), with peers on connections of their own. */
async function byUrl(): Promise<KeyValueHarness> {
  await admin.flushdb();
  const store = new RedisKeyValueStore(server!.url, HARNESS_OPTIONS);
  const peers: RedisKeyValueStore[] = [];
  return {
    store,
    peer: async () => {
      const p = new RedisKeyValueStore(server!.url, HARNESS_OPTIONS);
      peers.push(p);
      return p;
    },
    cleanup: async () => {
      for (const p of peers) await p.close();
      await store.close();
    },
  };
}

describe.skipIf(!haveRedis)('Redis', () => {
  keyValueStoreConformance('RedisKeyValueStore (redis:// URL)', byUrl);
  keyValueStoreConformance('RedisKeyValueStore (a client passed in)', async () => {
    await admin.flushdb();
    return { store: new RedisKeyValueStore(admin), cleanup: async () => {} };
  });
  imageMetadataStoreConformance('KvImageMetadataStore on RedisKeyValueStore', byUrl);

  it('add sets the TTL on the server (SET NX PX); deleteIf is one script', async () => {
    const s = new RedisKeyValueStore(admin);
    expect(await s.add('ttl', Buffer.from('v'), { ttlMs: 60_000 })).toBe(true);
    const pttl = await admin.pttl('ttl');
    expect(pttl).toBeGreaterThan(50_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
    await s.set('ttl', Buffer.from('w'));
    expect(await admin.pttl('ttl')).toBe(-1); // set without a TTL clears it
  });

  it('a client passed in stays open after close; a URL-built store quits its own', async () => {
    const owned = new RedisKeyValueStore(server!.url);
    await owned.set('k', Buffer.from('v'));
    await owned.close();
    expect(owned.client.status).toBe('end');
    const shared = new RedisKeyValueStore(admin);
    await shared.close();
    await expect(shared.get('k')).rejects.toBeInstanceOf(CacheUnavailableError);
    expect(admin.status).toBe('ready');
  });

  it('rejects anything but an ioredis client or a redis:// URL, and a bad timeout', () => {
    for (const bad of ['http://127.0.0.1:6379', '127.0.0.1:6379', '', {} as never]) {
      expect(() => new RedisKeyValueStore(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => new RedisKeyValueStore(admin, { timeoutMs: 0 })).toThrow(InvalidArgumentError);
  });

  it('nothing listening: CacheUnavailableError within 2 s for every call; validation still comes first', async () => {
    const s = new RedisKeyValueStore(`redis://127.0.0.1:${await freePort()}`, { timeoutMs: 500 });
    try {
      await expectUnavailableFast(s);
      await expect(s.get('bad key')).rejects.toBeInstanceOf(InvalidArgumentError);
    } finally {
      await s.close();
    }
  });

  it('the server dies mid-use: CacheUnavailableError within 2 s; works again once it is back', async () => {
    const own = await startRedis();
    let again: RedisServer | undefined;
    const s = new RedisKeyValueStore(own.url, { timeoutMs: 500 });
    try {
      await s.set('k', Buffer.from('v'));
      await own.stop();
      await expectUnavailableFast(s);
      again = await startRedis(own.port);
      const deadline = Date.now() + 5000;
      let ok = false;
      while (!ok && Date.now() < deadline) {
        ok = await s.set('k', Buffer.from('w')).then(() => true, () => false);
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      expect(ok).toBe(true);
      expect(await s.get('k')).toEqual(Buffer.from('w'));
    } finally {
      await s.close();
      await own.stop();
      await again?.stop();
    }
  });
});
