/**
 * The image metadata cache against a real registry (docker-registry on loopback): what a refresh asks the registry,
 * counted from the registry's own access log; the adaptive deadlines with an injected clock; the last good state
 * kept with `lastError` when the registry is down; a restart that makes no request; the cache's reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageMetadataCache } from '../../src/images/cache.js';
import { NotCachedError } from '../../src/images/errors.js';
import { refreshRepository, type RequestKind, type TagChange } from '../../src/images/refresh.js';
import { MAX_INTERVAL_MS, NEW_TAG_INTERVAL_MS } from '../../src/images/options.js';
import { KvImageMetadataStore, MemoryKeyValueStore } from '../../src/metadata/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { RepositoryName } from '../../src/registry/types.js';
import { pushTaggedImages, type PushedImage } from '../helpers/push-tags.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle, type RegistryRequest } from '../helpers/registry.js';

const reason = registryUnavailableReason();
const HOUR = 3_600_000;
let registry: RegistryHandle;
let client: RegistryClient;
let repo: RepositoryName;
let pushed: Map<string, PushedImage>;

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  client = new RegistryClient({ credentials: false });
  repo = { registry: registry.host, repository: 'team/app' };
  pushed = await pushTaggedImages(client, repo, [
    { tags: ['v1.0.0'], created: '2024-01-01T00:00:00Z', labels: { 'org.opencontainers.image.version': '1.0.0' } },
    { tags: ['v1.1.0'], created: '2024-02-01T00:00:00Z' },
    { tags: ['v1.2.0', 'latest'], created: '2024-03-01T00:00:00Z' },
  ]);
}, 120_000);
afterAll(async () => {
  await client?.close();
  await registry?.stop();
});

/** What the registry served since `before` (its access log), by kind. */
async function served(before: number): Promise<Record<RequestKind, number>> {
  const all: RegistryRequest[] = (await registry.requests()).slice(before);
  const n = { tags: 0, head: 0, manifest: 0, config: 0 };
  for (const r of all) {
    if (/\/tags\/list$/.test(r.path) && r.method === 'GET') n.tags++;
    else if (/\/manifests\//.test(r.path)) n[r.method === 'HEAD' ? 'head' : 'manifest']++;
    else if (/\/blobs\//.test(r.path) && r.method === 'GET') n.config++;
  }
  return n;
}

function harness(start = Date.parse('2025-01-01T00:00:00Z')) {
  let now = start;
  const store = new KvImageMetadataStore(new MemoryKeyValueStore());
  const changes: TagChange[] = [];
  return {
    store,
    changes,
    advance: (ms: number) => (now += ms),
    now: () => now,
    refresh: () => refreshRepository(repo, { client, store, now: () => now, onChange: (c) => changes.push(c) }),
  };
}

describe.skipIf(reason)('refreshRepository (real registry)', () => {
  it('first look: the tag list, a HEAD per tag, manifest + config once per distinct image; facts stored by digest', async () => {
    const h = harness();
    const before = (await registry.requests()).length;
    const state = await h.refresh();
    expect(await served(before)).toEqual({ tags: 1, head: 4, manifest: 3, config: 3 });
    expect(Object.keys(state.tags).sort()).toEqual(['latest', 'v1.0.0', 'v1.1.0', 'v1.2.0']);
    for (const [tag, t] of Object.entries(state.tags)) {
      expect(t.digest, tag).toBe(pushed.get(tag)!.digest);
      expect(t.deadline, tag).toBe(h.now() + NEW_TAG_INTERVAL_MS);
    }
    const info = await h.store.getImage(pushed.get('v1.0.0')!.digest);
    expect(info).toMatchObject({
      digest: pushed.get('v1.0.0')!.digest,
      configDigest: pushed.get('v1.0.0')!.configDigest,
      createdAt: '2024-01-01T00:00:00.000Z',
      labels: { 'org.opencontainers.image.version': '1.0.0' },
      platforms: [{ os: 'linux', architecture: 'amd64', digest: pushed.get('v1.0.0')!.digest }],
      size: pushed.get('v1.0.0')!.size,
    });
    expect(h.changes.filter((c) => c.kind === 'added').map((c) => c.tag).sort()).toEqual(['latest', 'v1.0.0', 'v1.1.0', 'v1.2.0']);
  });

  it('nothing due: the tag list alone; past the deadline: a HEAD per tag, the interval doubled; a moved tag halves it', async () => {
    const h = harness();
    await h.refresh();
    let before = (await registry.requests()).length;
    await h.refresh();
    expect(await served(before)).toEqual({ tags: 1, head: 0, manifest: 0, config: 0 });

    // Move v1.1.0 to a new image, then look again after the first deadline.
    const moved = await pushTaggedImages(client, repo, [{ tags: ['v1.1.0'], created: '2024-02-15T00:00:00Z' }]);
    h.advance(NEW_TAG_INTERVAL_MS + 1);
    before = (await registry.requests()).length;
    const state = await h.refresh();
    expect(await served(before)).toEqual({ tags: 1, head: 4, manifest: 1, config: 1 });
    expect(state.tags['v1.1.0']).toMatchObject({ digest: moved.get('v1.1.0')!.digest, intervalMs: 5 * 60_000 * 6 });
    expect(state.tags['v1.0.0']!.intervalMs).toBe(2 * NEW_TAG_INTERVAL_MS);
    expect(h.changes.find((c) => c.kind === 'moved')).toEqual({
      repository: `${repo.registry}/${repo.repository}`,
      tag: 'v1.1.0',
      kind: 'moved',
      digest: moved.get('v1.1.0')!.digest,
      previous: pushed.get('v1.1.0')!.digest,
    });
    pushed.set('v1.1.0', moved.get('v1.1.0')!);
  });

  it('intervals stay within [5 min, 7 days]', async () => {
    const h = harness();
    await h.refresh();
    for (let i = 0; i < 12; i++) {
      h.advance(MAX_INTERVAL_MS + 1);
      await h.refresh();
    }
    const state = (await h.store.getRepository(`${repo.registry}/${repo.repository}`))!;
    for (const t of Object.values(state.tags)) expect(t.intervalMs).toBe(MAX_INTERVAL_MS);
  });

  it('a registry that is down: lastError recorded, the last good state kept and still served offline', async () => {
    const h = harness();
    await h.refresh();
    const down = { registry: '127.0.0.1:1', repository: 'team/app' };
    const store = h.store;
    // Same store, the repository's state seeded under the unreachable host's name.
    const good = (await store.getRepository(`${repo.registry}/${repo.repository}`))!;
    await store.putRepository({ ...good, repository: '127.0.0.1:1/team/app' });
    const quick = new RegistryClient({ credentials: false, retry: { maxAttempts: 1 } });
    try {
      await expect(refreshRepository(down, { client: quick, store, now: h.now })).rejects.toMatchObject({ category: 'unavailable' });
    } finally {
      await quick.close();
    }
    const after = (await store.getRepository('127.0.0.1:1/team/app'))!;
    expect(after.tags).toEqual(good.tags);
    expect(after.lastUpdate).toBe(good.lastUpdate);
    expect(after.lastError).toMatchObject({ code: expect.stringMatching(/^ERR_REGISTRY/) });
    const cache = new ImageMetadataCache({ store });
    expect(Object.keys((await cache.getRepository('127.0.0.1:1/team/app', { offline: true })).tags)).toHaveLength(4);
  });
});

describe.skipIf(reason)('ImageMetadataCache (real registry)', () => {
  it('offline with nothing stored: NotCachedError saying what to do; online: fetched once, then answered from the store', async () => {
    const store = new KvImageMetadataStore(new MemoryKeyValueStore());
    const offline = new ImageMetadataCache({ store });
    const err = await offline.getImage(`${registry.host}/team/app`, 'v1.0.0').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotCachedError);
    expect((err as Error).message).toMatch(/mote warm/);

    const cache = new ImageMetadataCache({ store, client });
    let before = (await registry.requests()).length;
    const info = await cache.getImage(`${registry.host}/team/app`, 'v1.0.0');
    expect(info.createdAt).toBe('2024-01-01T00:00:00.000Z');
    expect((await served(before)).tags).toBe(1);
    before = (await registry.requests()).length;
    expect(await offline.getImage(`${registry.host}/team/app`, 'v1.0.0')).toEqual(info);
    expect(await cache.getImage(`${registry.host}/team/app`, 'v1.0.0')).toEqual(info);
    expect(await served(before)).toEqual({ tags: 0, head: 0, manifest: 0, config: 0 });
  });

  it('refuses an image reference where a repository is meant, and a bad tag', async () => {
    const cache = new ImageMetadataCache({ store: new KvImageMetadataStore(new MemoryKeyValueStore()) });
    await expect(cache.getRepository(`${registry.host}/team/app:v1`)).rejects.toMatchObject({ code: 'ERR_MOTE_INVALID_ARGUMENT' });
    await expect(cache.getImage(`${registry.host}/team/app`, 'bad tag')).rejects.toMatchObject({ code: 'ERR_MOTE_INVALID_ARGUMENT' });
  });
});
