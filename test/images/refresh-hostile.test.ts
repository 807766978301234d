/**
 * Review probes: `refreshRepository`, `fetchImageInfo` and `latestTag` against a hostile registry. A real
 * docker-registry holds what a hostile pusher can push (an index of an index, layers that claim 2^52 bytes, a
 * platform name of 300 characters); the fault-injecting proxy in front of it serves what no real registry would
 * (tag names that break the grammar, duplicate tags, a config whose bytes are not its digest, endless tag pages).
 *
 * The failing tests here are findings; the ones that pass are what held up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageMetadataCache } from '../../src/images/cache.js';
import { latestTag } from '../../src/images/latest.js';
import { refreshRepository } from '../../src/images/refresh.js';
import { selectLatest } from '../../src/images/policy.js';
import { KvImageMetadataStore, MemoryKeyValueStore } from '../../src/metadata/index.js';
import { MediaType } from '../../src/oci/media-types.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { RepositoryName } from '../../src/registry/types.js';
import { FaultInjectingProxy, type FaultAction, type FaultRequestInfo } from '../helpers/fault-proxy.js';
import { pushTaggedImages, type PushedImage } from '../helpers/push-tags.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { pushIndex, pushRawImage } from '../helpers/hostile-images.js';

const reason = registryUnavailableReason();
let registry: RegistryHandle;
let proxy: FaultInjectingProxy;
let client: RegistryClient;
/** Per-repository rules of the proxy (keyed by repository path); anything else passes. */
const rules = new Map<string, (req: FaultRequestInfo) => FaultAction>();
const GOOD = ['v1', 'v2', 'v3', 'v4', 'v5', 'v6'];
const POISONS = ['nested-index', 'layer-sizes', 'platform-name', 'config-bytes', 'config-larger'] as const;
const good = new Map<string, Map<string, PushedImage>>();
let badConfig: Map<string, { configDigest: string; config: Buffer }>;

const fresh = () => new KvImageMetadataStore(new MemoryKeyValueStore());
const viaProxy = (repository: string): RepositoryName => ({ registry: proxy.host, repository });

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  client = new RegistryClient({ credentials: false });
  badConfig = new Map();
  for (const kind of POISONS) {
    const repo = { registry: registry.host, repository: `hostile/${kind}` };
    good.set(kind, await pushTaggedImages(client, repo, GOOD.map((t, i) => ({ tags: [t], created: `2024-0${i + 1}-01T00:00:00Z` }))));
    if (kind === 'nested-index') {
      const inner = await pushRawImage(client, repo, undefined);
      const index1 = await pushIndex(client, repo, undefined, [
        { mediaType: MediaType.OciManifest, digest: inner.digest, size: inner.bytes.byteLength, platform: { os: 'linux', architecture: 'amd64' } },
      ]);
      // An index whose linux/amd64 entry is itself an index: the OCI image spec allows nested indexes.
      await pushIndex(client, repo, 'zzz', [{ mediaType: MediaType.OciIndex, digest: index1.digest, size: index1.bytes.byteLength, platform: { os: 'linux', architecture: 'amd64' } }]);
    } else if (kind === 'layer-sizes') {
      // Two layers that each claim 2^52 bytes (a registry never checks a descriptor's size against the blob).
      await pushRawImage(client, repo, 'zzz', { layerSizes: [2 ** 52, 2 ** 52] });
    } else if (kind === 'platform-name') {
      const inner = await pushRawImage(client, repo, undefined);
      await pushIndex(client, repo, 'zzz', [
        { mediaType: MediaType.OciManifest, digest: inner.digest, size: inner.bytes.byteLength, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MediaType.OciManifest, digest: inner.digest, size: inner.bytes.byteLength, platform: { os: 'x'.repeat(300), architecture: 'arm64' } },
      ]);
    } else {
      const img = await pushRawImage(client, repo, 'zzz');
      badConfig.set(kind, img);
    }
  }
  proxy = await FaultInjectingProxy.start(registry.host, (req) => {
    const m = /^\/v2\/(.+?)\/(tags|manifests|blobs)\//.exec(req.path);
    const rule = m ? rules.get(m[1]!) : undefined;
    return rule ? rule(req) : 'pass';
  });
  // The config of `zzz` is served with other bytes: of the same length (config-bytes), or longer (config-larger).
  for (const kind of ['config-bytes', 'config-larger'] as const) {
    const { configDigest, config } = badConfig.get(kind)!;
    rules.set(`hostile/${kind}`, (req) =>
      req.method === 'GET' && req.path.endsWith(`/blobs/${configDigest}`)
        ? { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: kind === 'config-bytes' ? Buffer.alloc(config.byteLength, 0x20) : Buffer.concat([config, Buffer.alloc(4096, 0x20)]) }
        : 'pass',
    );
  }
}, 180_000);
afterAll(async () => {
  await client?.close();
  await proxy?.stop();
  await registry?.stop();
});

const tagList = (repository: string, tags: unknown[], link?: string): FaultAction => ({
  status: 200,
  headers: { 'content-type': 'application/json', ...(link && { link }) },
  body: JSON.stringify({ name: repository, tags }),
});

describe.skipIf(reason)('one bad image must not poison the refresh of a whole repository', () => {
  it.each(POISONS)('%s: the refresh succeeds and the facts of the six good images are stored', async (kind) => {
    const store = fresh();
    const repo = viaProxy(`hostile/${kind}`);
    const outcome = await refreshRepository(repo, { client, store }).then(
      () => 'resolved',
      (e: Error & { code?: string }) => `rejected ${e.code}: ${e.message}`,
    );
    const digests = GOOD.map((t) => good.get(kind)!.get(t)!.digest);
    const known = (await store.getImages(digests)).filter((i) => i !== undefined).length;
    expect({ outcome, goodImagesWithFacts: known }).toEqual({ outcome: 'resolved', goodImagesWithFacts: 6 });
  });

  it('an unchanged repository costs its tag list alone, even when one of its images is bad (no manifest GET per cycle)', async () => {
    const store = fresh();
    const repo = viaProxy('hostile/nested-index');
    const now = Date.parse('2025-01-01T00:00:00Z');
    await refreshRepository(repo, { client, store, now: () => now }).catch(() => undefined);
    const before = proxy.requests.length;
    for (let i = 0; i < 3; i++) await refreshRepository(repo, { client, store, now: () => now + (i + 1) * 60_000 }).catch(() => undefined);
    const since = proxy.requests.slice(before).filter((r) => r.path.startsWith('/v2/hostile/nested-index/'));
    const gets = since.filter((r) => r.method === 'GET' && r.path.includes('/manifests/')).length;
    // Three refreshes, nothing due and nothing new: three tag lists, no manifest GET (Docker Hub counts those).
    expect({ tagLists: since.filter((r) => r.path.endsWith('/tags/list')).length, manifestGets: gets }).toEqual({ tagLists: 3, manifestGets: 0 });
  });

  it('latestTag --created answers from the good images when one image cannot be read', async () => {
    const store = fresh();
    const repo = viaProxy('hostile/nested-index');
    await refreshRepository(repo, { client, store, facts: false }); // tags and digests only
    const cache = new ImageMetadataCache({ store, client });
    const answer = await latestTag(cache, `${repo.registry}/${repo.repository}`, { created: true }).then(
      (a) => a.tag,
      (e: Error & { code?: string }) => `rejected ${e.code}: ${e.message}`,
    );
    expect(answer).toBe('v6');
  });
});

describe.skipIf(reason)('a hostile tag list', () => {
  it('a tag name outside the grammar is skipped: the valid tags are stored (the refresh does not throw InvalidArgumentError)', async () => {
    rules.set('hostile/names', (req) =>
      req.path.endsWith('/tags/list') ? tagList('hostile/names', ['v1', 'bad tag', '../../etc', 'x'.repeat(200), '-dash']) : 'pass',
    );
    try {
      // HEADs of `hostile/names` go to the registry, which has no such repository: point v1's HEAD at a real one.
      const real = good.get('layer-sizes')!.get('v1')!;
      const inner = rules.get('hostile/names')!;
      rules.set('hostile/names', (req) =>
        req.method === 'HEAD' && req.path.endsWith('/manifests/v1')
          ? { status: 200, headers: { 'docker-content-digest': real.digest, 'content-type': MediaType.OciManifest, 'content-length': '400' } }
          : inner(req),
      );
      const store = fresh();
      const repo = viaProxy('hostile/names');
      const err = await refreshRepository(repo, { client, store, facts: false }).then(
        () => undefined,
        (e: Error & { code?: string }) => e,
      );
      const state = await store.getRepository(`${repo.registry}/${repo.repository}`);
      expect({
        error: err && `${err.code}: ${err.message.slice(0, 120)}`,
        storedTags: state ? Object.keys(state.tags) : 'nothing stored (not even lastError)',
      }).toEqual({ error: undefined, storedTags: ['v1'] });
    } finally {
      rules.delete('hostile/names');
    }
  });

  it('a tag listed many times is looked at (HEAD) once', async () => {
    const real = good.get('layer-sizes')!.get('v2')!;
    let heads = 0;
    rules.set('hostile/dups', (req) => {
      if (req.path.endsWith('/tags/list')) return tagList('hostile/dups', Array(60).fill('v2'));
      if (req.method === 'HEAD') {
        heads++;
        return { status: 200, headers: { 'docker-content-digest': real.digest, 'content-type': MediaType.OciManifest, 'content-length': '400' } };
      }
      return 'pass';
    });
    try {
      const changes: string[] = [];
      await refreshRepository(viaProxy('hostile/dups'), { client, store: fresh(), facts: false, onChange: (c) => changes.push(`${c.kind} ${c.tag}`) });
      expect({ heads, changes: changes.length }).toEqual({ heads: 1, changes: 1 });
    } finally {
      rules.delete('hostile/dups');
    }
  });

  it('the tags taken from one registry are bounded (MAX_TAGS_PER_REPOSITORY, 200,000): 250,000 names in 5 pages fail the refresh clearly, before any HEAD, nothing stored', async () => {
    const PAGE = 50_000;
    let heads = 0;
    rules.set('hostile/huge', (req) => {
      if (req.path.endsWith('/tags/list')) {
        const page = Number(new URL(req.url, 'http://x').searchParams.get('page') ?? '0');
        const tags = Array.from({ length: PAGE }, (_, i) => `t${page}-${i}`);
        return tagList('hostile/huge', tags, page < 4 ? `</v2/hostile/huge/tags/list?page=${page + 1}>; rel="next"` : undefined);
      }
      if (req.method === 'HEAD') heads++;
      return 'pass';
    });
    try {
      const store = fresh();
      const repo = viaProxy('hostile/huge');
      const err = await refreshRepository(repo, { client, store, facts: false }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_REGISTRY_PROTOCOL', message: expect.stringMatching(/250000 tags: more than the 200000/) });
      expect(heads).toBe(0);
      const state = await store.getRepository(`${repo.registry}/${repo.repository}`);
      expect(state?.tags ?? {}).toEqual({});
      expect(state?.lastError?.code).toBe('ERR_REGISTRY_PROTOCOL');
    } finally {
      rules.delete('hostile/huge');
    }
  }, 120_000);
});

describe.skipIf(reason)('what held up', () => {
  it('a tag list that is not JSON: the last good tags are kept, lastError says why', async () => {
    const store = fresh();
    const repo = viaProxy('hostile/layer-sizes');
    await refreshRepository(repo, { client, store, facts: false });
    rules.set('hostile/layer-sizes', (req) => (req.path.endsWith('/tags/list') ? { status: 200, headers: { 'content-type': 'application/json' }, body: '{"tags":["v1", ' } : 'pass'));
    try {
      const err = await refreshRepository(repo, { client, store, facts: false }).catch((e: { code?: string }) => e);
      expect(err).toMatchObject({ code: 'ERR_REGISTRY_PROTOCOL' });
      const state = (await store.getRepository(`${repo.registry}/${repo.repository}`))!;
      expect(Object.keys(state.tags).sort()).toEqual([...GOOD, 'zzz']);
      expect(state.lastError).toMatchObject({ code: 'ERR_REGISTRY_PROTOCOL' });
    } finally {
      rules.delete('hostile/layer-sizes');
    }
  });

  it('a tag deleted between the list and its HEAD is dropped; 429s on HEADs are ridden out', async () => {
    let throttled = 0;
    const previous = rules.get('hostile/config-bytes');
    rules.set('hostile/config-bytes', (req) => {
      if (req.path.endsWith('/tags/list')) return tagList('hostile/config-bytes', [...GOOD, 'gone']);
      if (req.method === 'HEAD' && req.path.endsWith('/manifests/gone')) return { status: 404, body: '' };
      if (req.method === 'HEAD' && throttled < 2) {
        throttled++;
        return { status: 429, headers: { 'retry-after': '1' }, body: '' };
      }
      return 'pass';
    });
    try {
      const store = fresh();
      const state = await refreshRepository(viaProxy('hostile/config-bytes'), { client, store, facts: false });
      expect(Object.keys(state.tags).sort()).toEqual(GOOD);
      expect(Object.values(state.tags).every((t) => t.digest.startsWith('sha256:'))).toBe(true);
    } finally {
      rules.set('hostile/config-bytes', previous!);
    }
  });

  it('tags named __proto__, constructor and hasOwnProperty survive the store and the policies', async () => {
    const repo = { registry: registry.host, repository: 'hostile/proto' };
    const names = ['__proto__', 'constructor', 'hasOwnProperty', 'toString'];
    await pushTaggedImages(client, repo, names.map((t) => ({ tags: [t] })));
    const store = fresh();
    await refreshRepository(repo, { client, store });
    const state = (await store.getRepository(`${repo.registry}/${repo.repository}`))!;
    expect(Object.keys(state.tags).sort()).toEqual([...names].sort());
    expect(Object.getPrototypeOf(state.tags)).toBe(Object.prototype);
    expect(selectLatest(state.tags, { alphabetical: 'asc' })?.tag).toBe('toString');
    const cache = new ImageMetadataCache({ store });
    expect((await cache.getImage(repo, '__proto__', { offline: true })).digest).toBe(state.tags['__proto__']!.digest);
  });
});
