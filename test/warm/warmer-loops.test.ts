/**
 * Review probes: the `Warmer`'s loops, waits, leases and clock against a real registry (and the fault-injecting
 * proxy for slowness and failures on demand). Is every loop bounded, does a lease hold while a refresh is slow,
 * is a notification kept until it is acted on, what does a clock that was wrong do to the stored deadlines?
 *
 * The failing tests here are findings; the ones that pass are what held up.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CacheUnavailableError } from '../../src/errors.js';
import fc from 'fast-check';
import { isDue, nextTagState } from '../../src/images/deadline.js';
import { MAX_INTERVAL_MS, MIN_INTERVAL_MS, NEW_TAG_INTERVAL_MS } from '../../src/images/options.js';
import { refreshRepository, type TagChange } from '../../src/images/refresh.js';
import { KvImageMetadataStore, MemoryKeyValueStore } from '../../src/metadata/index.js';
import type { ImageMetadataStore } from '../../src/metadata/types.js';
import { RegistryClient } from '../../src/registry/client.js';
import { Warmer, type CycleReport } from '../../src/warm/warmer.js';
import { FaultInjectingProxy, type FaultAction, type FaultRequestInfo } from '../helpers/fault-proxy.js';
import { pushTaggedImages } from '../helpers/push-tags.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { sleep, waitFor } from '../helpers/hostile-images.js';

const reason = registryUnavailableReason();
let registry: RegistryHandle;
let proxy: FaultInjectingProxy;
let client: RegistryClient;
const rules = new Map<string, (req: FaultRequestInfo) => FaultAction | Promise<FaultAction>>();
const REPOS = ['team/failing', 'team/lease', 'team/notify', 'team/clock', 'team/clock2', 'team/store'];

const fresh = () => new KvImageMetadataStore(new MemoryKeyValueStore());
const tagListsAtProxy = (repository: string, from = 0) => proxy.requests.slice(from).filter((r) => r.path === `/v2/${repository}/tags/list`).length;

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  client = new RegistryClient({ credentials: false });
  for (const r of REPOS) await pushTaggedImages(client, { registry: registry.host, repository: r }, [{ tags: ['1'] }, { tags: ['2'] }]);
  proxy = await FaultInjectingProxy.start(registry.host, (req) => {
    const m = /^\/v2\/(.+?)\/(tags|manifests|blobs)\//.exec(req.path);
    const rule = m ? rules.get(m[1]!) : undefined;
    return rule ? rule(req) : 'pass';
  });
}, 120_000);
afterAll(async () => {
  await client?.close();
  await proxy?.stop();
  await registry?.stop();
});
afterEach(() => {
  vi.restoreAllMocks();
  rules.clear();
});

describe.skipIf(reason)('every loop is bounded', () => {
  it('a repository that has never been read (404) is not retried in a tight loop by run()', async () => {
    const name = `${registry.host}/team/never-pushed`;
    const before = (await registry.requests()).length;
    const controller = new AbortController();
    const cycles: CycleReport[] = [];
    const w = new Warmer({ client, store: fresh(), repositories: [name], onCycle: (r) => cycles.push(r) });
    const running = w.run(controller.signal);
    await sleep(1500);
    controller.abort();
    await running.catch(() => undefined);
    const lists = (await registry.requests()).slice(before).filter((r) => r.path === '/v2/team/never-pushed/tags/list').length;
    // Poll interval 5 min: one look, perhaps a retry after a backoff; not one per event-loop turn.
    expect({ cycles: cycles.length, tagLists: lists }).toEqual({ cycles: 1, tagLists: 1 });
  });

  it('a repository that was read once and whose registry now fails is not retried in a tight loop either', async () => {
    let offset = 0;
    const now = () => Date.now() + offset;
    const name = `${proxy.host}/team/failing`;
    const w = new Warmer({ client, store: fresh(), repositories: [name], now, jitter: 0 });
    expect((await w.cycle()).refreshed).toEqual([name]);
    offset += 10 * 60_000; // past the 5 min poll interval
    rules.set('team/failing', () => ({ status: 404, headers: { 'content-type': 'application/json' }, body: '{"errors":[{"code":"NAME_UNKNOWN"}]}' }));
    const from = proxy.requests.length;
    const controller = new AbortController();
    const running = w.run(controller.signal);
    await sleep(1500);
    controller.abort();
    await running.catch(() => undefined);
    expect(tagListsAtProxy('team/failing', from), 'tag lists sent in 1.5 s to a registry answering 404').toBeLessThanOrEqual(2);
  });

  it('run() outlives one transient store failure (a Redis blip, SQLITE_BUSY past the busy timeout)', async () => {
    const inner = fresh();
    let calls = 0;
    const flaky: ImageMetadataStore = Object.assign(Object.create(null) as ImageMetadataStore, {
      getRepository: async (r: string) => {
        if (++calls === 1) throw new CacheUnavailableError('metadata store (test blip)');
        return inner.getRepository(r);
      },
      putRepository: (s: Parameters<ImageMetadataStore['putRepository']>[0]) => inner.putRepository(s),
      getImage: (d: string) => inner.getImage(d),
      getImages: (d: readonly string[]) => inner.getImages(d),
      putImage: (i: Parameters<ImageMetadataStore['putImage']>[0]) => inner.putImage(i),
      acquireLease: (n: string, o: string, t: number) => inner.acquireLease(n, o, t),
      releaseLease: (n: string, o: string) => inner.releaseLease(n, o),
      close: () => inner.close(),
    });
    const controller = new AbortController();
    const w = new Warmer({ client, store: flaky, repositories: [`${registry.host}/team/store`], pollIntervalMs: 1000, jitter: 0 });
    const running = w.run(controller.signal).then(
      () => 'resolved',
      (e: Error & { code?: string }) => `rejected ${e.code}: ${e.message}`,
    );
    const early = await Promise.race([running, sleep(1000).then(() => 'still running')]);
    controller.abort();
    await running;
    expect(early).toBe('still running');
  });
});

describe.skipIf(reason)('leases and notifications', () => {
  it('a lease outlives a refresh slower than the lease (it is renewed while the refresh runs): a second warmer does not refresh the same repository meanwhile', async () => {
    let slow = true;
    rules.set('team/lease', async (req): Promise<FaultAction> => {
      if (req.method === 'HEAD' && slow) await sleep(5000);
      return 'pass';
    });
    const store = fresh();
    const name = `${proxy.host}/team/lease`;
    const a = new Warmer({ client, store, repositories: [name], jitter: 0, leaseMs: 3000 });
    const b = new Warmer({ client, store, repositories: [name], jitter: 0, leaseMs: 3000 });
    const from = proxy.requests.length;
    const aCycle = a.cycle();
    await waitFor(() => proxy.requests.slice(from).some((r) => r.method === 'HEAD'), 10_000, "A's first HEAD");
    await sleep(3500); // past A's first lease: only its renewals (every 1 s) keep it
    const bReport = await b.cycle();
    slow = false;
    const aReport = await aCycle;
    const state = (await store.getRepository(name))!;
    expect({
      refreshedByA: aReport.refreshed.length,
      refreshedByB: bReport.refreshed.length,
      leasedElsewhereForB: bReport.leasedElsewhere.length,
      tagLists: tagListsAtProxy('team/lease', from),
      resolved: Object.values(state.tags).every((t) => t.digest !== ''),
    }).toEqual({ refreshedByA: 1, refreshedByB: 0, leasedElsewhereForB: 1, tagLists: 1, resolved: true });
  });

  it('a notification for a repository leased elsewhere is not lost: the pushed tag is seen once the lease is free', async () => {
    let slow = true;
    rules.set('team/notify', async (req): Promise<FaultAction> => {
      if (req.method === 'HEAD' && slow) await sleep(1500);
      return 'pass';
    });
    const store = fresh();
    const name = `${proxy.host}/team/notify`;
    let offset = 0;
    const a = new Warmer({ client, store, repositories: [name], jitter: 0 });
    const b = new Warmer({ client, store, repositories: [name], jitter: 0, now: () => Date.now() + offset });
    const from = proxy.requests.length;
    const aCycle = a.cycle();
    await waitFor(() => proxy.requests.slice(from).some((r) => r.method === 'HEAD'), 10_000, "A's first HEAD");
    // A has listed the tags; now a tag is pushed and the registry's webhook reaches warmer B.
    await pushTaggedImages(client, { registry: registry.host, repository: 'team/notify' }, [{ tags: ['3'] }]);
    b.notify(name);
    slow = false;
    const first = await b.cycle();
    expect(first.leasedElsewhere).toEqual([name]);
    await aCycle;
    // The lease is free now; notifications are folded into one refresh per NOTIFY_COALESCE_MS (10 s) after the last:
    // within that window the notification waits (kept, not lost), past it B acts on it.
    expect((await b.cycle()).skipped).toEqual([name]);
    offset += 10_001;
    expect((await b.cycle()).refreshed).toEqual([name]);
    const state = (await store.getRepository(name))!;
    expect(Object.keys(state.tags).sort()).toEqual(['1', '2', '3']);
  });
});

describe.skipIf(reason)('a clock that was wrong', () => {
  it('a lastUpdate stored by a clock a month ahead does not stop the repository from being refreshed for a month', async () => {
    let now = Date.now() + 30 * 24 * 3_600_000;
    const store = fresh();
    const name = `${registry.host}/team/clock`;
    const w = new Warmer({ client, store, repositories: [name], now: () => now, jitter: 0 });
    expect((await w.cycle()).refreshed).toEqual([name]);
    now = Date.now() + 10 * 60_000; // the clock is right again; the poll interval (5 min) has passed since
    const report = await w.cycle();
    expect(report.refreshed, 'a state "updated" 30 days in the future').toEqual([name]);
  });

  it('tag deadlines set by a clock a month ahead: a tag moved since is noticed once the clock is right and the interval passed', async () => {
    const repo = { registry: registry.host, repository: 'team/clock2' };
    const store = fresh();
    const changes: TagChange[] = [];
    const future = Date.now() + 30 * 24 * 3_600_000;
    await refreshRepository(repo, { client, store, now: () => future });
    await pushTaggedImages(client, repo, [{ tags: ['1'] }]); // tag 1 moves
    const right = Date.now() + 2 * 3_600_000; // 2 h later by the right clock: past the 1 h of a new tag
    await refreshRepository(repo, { client, store, now: () => right, onChange: (c) => changes.push(c) });
    expect(changes.map((c) => `${c.kind} ${c.tag}`)).toEqual(['moved 1']);
  });
});

describe('the adaptive deadline (pure)', () => {
  it('held: any stored interval and clock: the next interval is within [5 min, 7 days], doubles / halves / restarts at 1 h, and the tag is due exactly at its deadline', () => {
    const A = `sha256:${'a'.repeat(64)}`;
    const B = `sha256:${'b'.repeat(64)}`;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 46 }), fc.integer({ min: 0, max: 2 ** 46 }), fc.constantFrom('same', 'moved', 'excluded', 'unresolved'), (interval, now, kind) => {
        const prev = { digest: kind === 'unresolved' ? '' : A, checkedAt: 0, intervalMs: interval, deadline: 0, ...(kind === 'excluded' && { excluded: 'filter' }) };
        const next = nextTagState(prev, kind === 'moved' ? B : A, now);
        const clip = (ms: number) => Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, ms));
        const want = kind === 'same' ? clip(interval * 2) : kind === 'moved' ? clip(interval / 2) : NEW_TAG_INTERVAL_MS;
        return next.intervalMs === want && next.deadline === now + want && !isDue(next, now) && isDue(next, next.deadline);
      }),
    );
  });
});
