import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { CacheUnavailableError, InvalidArgumentError } from '../../src/errors.js';
import { MemcachedKeyValueStore } from '../../src/metadata/index.js';
import { keyValueStoreConformance, until, type KeyValueHarness } from '../conformance/key-value-store.js';
import { imageMetadataStoreConformance } from '../conformance/image-metadata-store.js';
import { freePort } from '../helpers/net.js';
import { findMemcached, flushMemcached, memcachedUnavailableReason, startMemcached, type MemcachedServer } from '../helpers/memcached.js';
import { expectUnavailableFast } from './unavailable.js';

const haveMemcached = !!findMemcached();
if (!haveMemcached) console.warn(`metadata memcached.test: skipping the memcached tests: ${memcachedUnavailableReason()}`);

let server: MemcachedServer | undefined;

beforeAll(async () => {
  if (haveMemcached) server = await startMemcached();
});

afterAll(async () => {
  await server?.stop();
});

/**
 * The conformance suites test what the stores do, not how fast a loaded machine runs them: each call's bound is
 * raised from the 1 s default (under a full CI run, 18 writers contending for one record's lock saw single calls
 * take over a second). The bound itself is tested below with stores of their own.
 */
const HARNESS_OPTIONS = { timeoutMs: 10_000 };

/** A store with its own connection, and peers with connections of their own; the server flushed first. */
async function harness(): Promise<KeyValueHarness> {
  await flushMemcached(server!.port);
  const store = new MemcachedKeyValueStore(server!.servers, HARNESS_OPTIONS);
  const peers: MemcachedKeyValueStore[] = [];
  return {
    store,
    peer: async () => {
      const p = new MemcachedKeyValueStore(server!.servers, HARNESS_OPTIONS);
      peers.push(p);
      return p;
    },
    cleanup: async () => {
      for (const p of peers) await p.close();
      await store.close();
    },
  };
}

describe.skipIf(!haveMemcached)('memcached', () => {
  keyValueStoreConformance('MemcachedKeyValueStore', harness);
  imageMetadataStoreConformance('KvImageMetadataStore on MemcachedKeyValueStore', harness);

  it('a TTL is never shorter than asked (whole seconds, rounded up, plus one), and ends', async () => {
    const s = new MemcachedKeyValueStore(server!.servers);
    try {
      await s.set('one-second', Buffer.from('v'), { ttlMs: 1000 });
      const t0 = Date.now();
      expect(await s.get('one-second')).toEqual(Buffer.from('v'));
      await until(async () => (await s.get('one-second')) === undefined, 8000, 'expiry');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
      // Past 30 days memcached reads the number as a Unix time: a 60-day TTL must still be a future one.
      await s.set('sixty-days', Buffer.from('v'), { ttlMs: 60 * 24 * 3600 * 1000 });
      expect(await s.get('sixty-days')).toEqual(Buffer.from('v'));
    } finally {
      await s.close();
    }
  });

  it('rejects a malformed server list and a bad timeout', () => {
    for (const bad of ['', 'memcache://127.0.0.1', '127.0.0.1:0', '127.0.0.1:abc', 'a b', 42 as never]) {
      expect(() => new MemcachedKeyValueStore(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => new MemcachedKeyValueStore('127.0.0.1', { timeoutMs: -1 })).toThrow(InvalidArgumentError);
  });

  it('nothing listening: CacheUnavailableError within 2 s for every call; validation still comes first', async () => {
    const s = new MemcachedKeyValueStore(`127.0.0.1:${await freePort()}`, { timeoutMs: 500 });
    try {
      await expectUnavailableFast(s);
      await expect(s.get('bad key')).rejects.toBeInstanceOf(InvalidArgumentError);
    } finally {
      await s.close();
    }
  });

  it('the server dies mid-use: CacheUnavailableError within 2 s (memjs alone would wait forever); works again once it is back', async () => {
    const own = await startMemcached();
    let again: MemcachedServer | undefined;
    const s = new MemcachedKeyValueStore(own.servers, { timeoutMs: 500 });
    try {
      await s.set('k', Buffer.from('v'));
      expect(await s.get('k')).toEqual(Buffer.from('v'));
      await own.stop();
      await expectUnavailableFast(s);
      again = await startMemcached(own.port);
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

  it('a closed store refuses at once', async () => {
    const s = new MemcachedKeyValueStore(server!.servers);
    await s.close();
    await expect(s.get('k')).rejects.toBeInstanceOf(CacheUnavailableError);
  });
});
