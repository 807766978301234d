/**
 * The warmer against a real registry: a cycle refreshes what is due and nothing else, a restart (a new warmer on
 * the same store) makes no request, two warmers on one store refresh each repository once, `notify` jumps the
 * queue, and a failing repository leaves the others refreshed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvImageMetadataStore, MemoryKeyValueStore } from '../../src/metadata/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { Warmer } from '../../src/warm/warmer.js';
import { pushTaggedImages } from '../helpers/push-tags.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';

const reason = registryUnavailableReason();
let registry: RegistryHandle;
let client: RegistryClient;
const REPOS = ['team/a', 'team/b', 'team/c'];

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  client = new RegistryClient({ credentials: false });
  for (const r of REPOS) {
    await pushTaggedImages(client, { registry: registry.host, repository: r }, [
      { tags: ['1'], created: '2024-01-01T00:00:00Z' },
      { tags: ['2'], created: '2024-02-01T00:00:00Z' },
    ]);
  }
}, 120_000);
afterAll(async () => {
  await client?.close();
  await registry?.stop();
});

const tagLists = async (before: number): Promise<Record<string, number>> => {
  const out: Record<string, number> = {};
  for (const r of (await registry.requests()).slice(before)) {
    const m = /^\/v2\/(.+)\/tags\/list$/.exec(r.path);
    if (m) out[m[1]!] = (out[m[1]!] ?? 0) + 1;
  }
  return out;
};

describe.skipIf(reason)('Warmer (real registry)', () => {
  const repos = () => REPOS.map((r) => `${registry.host}/${r}`);

  it('refreshes every repository once, then nothing until due; a restarted warmer on the same store makes no request', async () => {
    let now = Date.parse('2025-01-01T00:00:00Z');
    const store = new KvImageMetadataStore(new MemoryKeyValueStore());
    const w = new Warmer({ client, store, repositories: repos(), now: () => now, pollIntervalMs: 60_000, jitter: 0 });
    let before = (await registry.requests()).length;
    const first = await w.cycle();
    expect(first.refreshed.sort()).toEqual(repos().sort());
    expect(first).toMatchObject({ tagsKnown: 6, lagMs: 0 });
    expect(await tagLists(before)).toEqual({ 'team/a': 1, 'team/b': 1, 'team/c': 1 });

    before = (await registry.requests()).length;
    const restarted = new Warmer({ client, store, repositories: repos(), now: () => now, pollIntervalMs: 60_000, jitter: 0 });
    expect((await restarted.cycle()).skipped).toHaveLength(3);
    expect((await registry.requests()).length).toBe(before);

    now += 60_001;
    expect((await restarted.cycle()).refreshed).toHaveLength(3);
    expect(await tagLists(before)).toEqual({ 'team/a': 1, 'team/b': 1, 'team/c': 1 });

    // Past the poll interval, a cycle that cannot refresh one repository (its lease held elsewhere) reports the lag.
    now += 90_000;
    await store.acquireLease(`refresh|${repos()[0]}`, 'someone-else', 60_000);
    const lagging = await restarted.cycle();
    expect(lagging.leasedElsewhere).toEqual([repos()[0]]);
    expect(lagging.lagMs).toBe(30_000);
  });

  it('two warmers on one store, cycling at once: each repository refreshed once', async () => {
    const store = new KvImageMetadataStore(new MemoryKeyValueStore());
    const make = () => new Warmer({ client, store, repositories: repos(), jitter: 0 });
    const before = (await registry.requests()).length;
    const [r1, r2] = await Promise.all([make().cycle(), make().cycle()]);
    expect([...r1.refreshed, ...r2.refreshed].sort()).toEqual(repos().sort());
    expect(await tagLists(before)).toEqual({ 'team/a': 1, 'team/b': 1, 'team/c': 1 });
  });

  it('notify: a repository not due is refreshed at the next cycle, and only it', async () => {
    const store = new KvImageMetadataStore(new MemoryKeyValueStore());
    let now = Date.now();
    const w = new Warmer({ client, store, repositories: repos(), jitter: 0, now: () => now });
    await w.cycle();
    w.notify(`${registry.host}/team/b`);
    // Within NOTIFY_COALESCE_MS of its last refresh a notification waits (many become one refresh); then it is acted on.
    expect((await w.cycle()).skipped).toHaveLength(3);
    now += 10_001;
    w.notify('example.com/not/ours'); // ignored
    const before = (await registry.requests()).length;
    const report = await w.cycle();
    expect(report.refreshed).toEqual([`${registry.host}/team/b`]);
    expect(await tagLists(before)).toEqual({ 'team/b': 1 });
  });

  it('a repository that fails is reported and keeps its state; the others are refreshed', async () => {
    const store = new KvImageMetadataStore(new MemoryKeyValueStore());
    const errors: string[] = [];
    const w = new Warmer({ client, store, repositories: [...repos(), `${registry.host}/team/missing`], jitter: 0, onError: (r) => errors.push(r) });
    const report = await w.cycle();
    expect(report.refreshed).toHaveLength(3);
    expect(report.failed).toEqual([`${registry.host}/team/missing`]);
    expect(errors).toEqual([`${registry.host}/team/missing`]);
    expect((await store.getRepository(`${registry.host}/team/missing`))?.lastError).toMatchObject({ code: 'ERR_REGISTRY_NOT_FOUND' });
  });

  it('run() stops promptly when its signal aborts', async () => {
    const store = new KvImageMetadataStore(new MemoryKeyValueStore());
    const w = new Warmer({ client, store, repositories: repos(), jitter: 0 });
    const controller = new AbortController();
    const running = w.run(controller.signal);
    await new Promise((r) => setTimeout(r, 200));
    controller.abort();
    await expect(running).resolves.toBeUndefined();
  });
});
