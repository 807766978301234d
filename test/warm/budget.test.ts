/**
 * A warmer and a registry's budget (a real registry behind the fault-injecting proxy, which adds what a real
 * docker-registry never sends: `RateLimit-*` headers, 429s): a client keeping a reserve stops manifest GETs once
 * the announced budget is down to it (HEADs and tag lists go on), and a 429 with `Retry-After` pauses the host's
 * other requests too, so they do not all collect 429s of their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshRepository } from '../../src/images/refresh.js';
import { KvImageMetadataStore, MemoryKeyValueStore } from '../../src/metadata/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { parseBudget } from '../../src/registry/transport/budget.js';
import { FaultInjectingProxy } from '../helpers/fault-proxy.js';
import { pushTaggedImages } from '../helpers/push-tags.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';

const reason = registryUnavailableReason();
let registry: RegistryHandle;
let proxy: FaultInjectingProxy;

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  const client = new RegistryClient({ credentials: false });
  await pushTaggedImages(client, { registry: registry.host, repository: 'team/app' }, Array.from({ length: 10 }, (_, i) => ({ tags: [`v${i}`] })));
  await client.close();
  proxy = await FaultInjectingProxy.start(registry.host);
}, 120_000);
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
});

describe('parseBudget', () => {
  it("reads the IETF draft's headers and Docker Hub's form; refuses nonsense", () => {
    expect(parseBudget({ 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': '76;w=21600' }, 1000)).toEqual({ limit: 100, remaining: 76, resetAt: undefined, windowMs: 21_600_000 });
    expect(parseBudget({ 'ratelimit-limit': '50', 'ratelimit-remaining': '3', 'ratelimit-reset': '30' }, 1000)).toEqual({ limit: 50, remaining: 3, resetAt: 31_000, windowMs: undefined });
    for (const h of [{}, { 'ratelimit-limit': '10' }, { 'ratelimit-limit': '10', 'ratelimit-remaining': '11' }, { 'ratelimit-limit': '0', 'ratelimit-remaining': '0' }, { 'ratelimit-limit': 'x', 'ratelimit-remaining': '1' }, { 'ratelimit-limit': '9'.repeat(300), 'ratelimit-remaining': '1' }]) {
      expect(parseBudget(h, 0), JSON.stringify(h).slice(0, 80)).toBeUndefined();
    }
  });
});

describe.skipIf(reason)('a warmer within a registry budget (real registry behind a header-adding proxy)', () => {
  const repo = () => ({ registry: proxy.host, repository: 'team/app' });

  it('with a reserve of 20%, manifest GETs stop once 20 of 100 are left; HEADs and the tag list still go; without a reserve all proceed', async () => {
    let remaining = 25;
    proxy.rule = (req) => {
      if (req.method === 'GET' && req.path.includes('/manifests/')) remaining--;
      return { addHeaders: { 'ratelimit-limit': '100;w=21600', 'ratelimit-remaining': `${Math.max(0, remaining)};w=21600` } };
    };
    const reserved = new RegistryClient({ credentials: false, rateLimit: { reserveFraction: 0.2 } });
    const store = new KvImageMetadataStore(new MemoryKeyValueStore());
    try {
      const err = await refreshRepository(repo(), { client: reserved, store, concurrency: 1 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_REGISTRY_RATE_LIMITED', message: expect.stringMatching(/20 of 100 requests left, the reserve/) });
      const gets = proxy.requests.filter((r) => r.method === 'GET' && r.path.includes('/manifests/')).length;
      expect(gets).toBe(5); // 25 -> 20, then no more
      const state = (await store.getRepository(`${proxy.host}/team/app`))!;
      expect(Object.values(state.tags).every((t) => t.digest !== '')).toBe(true); // HEADs went on: digests known
      expect(state.lastError?.code).toBe('ERR_REGISTRY_RATE_LIMITED');
    } finally {
      await reserved.close();
    }
    const plain = new RegistryClient({ credentials: false });
    try {
      await refreshRepository(repo(), { client: plain, store, concurrency: 1 });
    } finally {
      await plain.close();
    }
    expect(remaining).toBeLessThan(20);
  });

  it('a 429 with Retry-After pauses the host: the requests in flight beside it wait instead of collecting 429s', async () => {
    proxy.requests.length = 0;
    let sent429 = false;
    proxy.rule = (req) => {
      if (!sent429 && req.method === 'HEAD') {
        sent429 = true;
        return { status: 429, headers: { 'retry-after': '1' }, body: '{"errors":[{"code":"TOOMANYREQUESTS"}]}' };
      }
      return 'pass';
    };
    const client = new RegistryClient({ credentials: false });
    const store = new KvImageMetadataStore(new MemoryKeyValueStore());
    const started = Date.now();
    try {
      await refreshRepository(repo(), { client, store, concurrency: 4, facts: false });
    } finally {
      await client.close();
    }
    expect(proxy.requests.filter((r) => r.status === 429)).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900); // the pause was honoured
    const heads = proxy.requests.filter((r) => r.method === 'HEAD');
    expect(heads).toHaveLength(11); // 10 tags, one of them twice
  });
});
