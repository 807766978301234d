/**
 * What a warmer cycle costs its own side, not the registry's (the registry's side is in warmer.test.ts): a state
 * of 100,000 tags is megabytes, so a repository that is not due is not read, a due one is read once and written
 * once when nothing changed; and HEADs share connections (undici closes one after every HEAD unless told not to:
 * each HEAD was a TCP connect and a connection pool).
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KvImageMetadataStore, MemoryKeyValueStore } from '../../src/metadata/index.js';
import type { ImageMetadataStore } from '../../src/metadata/types.js';
import { RegistryClient } from '../../src/registry/client.js';
import { Warmer } from '../../src/warm/warmer.js';
import { pushTaggedImages } from '../helpers/push-tags.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';

const reason = registryUnavailableReason();
let registry: RegistryHandle;
let client: RegistryClient;

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  client = new RegistryClient({ credentials: false });
  const tags = Array.from({ length: 12 }, (_, i) => ({ tags: [`v${i}`] }));
  await pushTaggedImages(client, { registry: registry.host, repository: 'team/economy' }, tags);
}, 120_000);
afterAll(async () => {
  await client?.close();
  await registry?.stop();
});

/** The store, counting its calls by method. */
function counting(inner: ImageMetadataStore): { store: ImageMetadataStore; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls };
}

describe.skipIf(reason)('the warmer’s own costs', () => {
  it('not due: the state is not read; due and unchanged: read once, written once', async () => {
    const { store, calls } = counting(new KvImageMetadataStore(new MemoryKeyValueStore()));
    let now = Date.now();
    const w = new Warmer({ client, store, repositories: [`${registry.host}/team/economy`], now: () => now, jitter: 0, facts: false });
    expect((await w.cycle()).refreshed).toHaveLength(1);
    for (const k of Object.keys(calls)) delete calls[k];
    now += 60_000; // within the 5 min poll
    const quiet = await w.cycle();
    expect(quiet.skipped).toHaveLength(1);
    expect(quiet.tagsKnown).toBe(12);
    expect(calls.getRepository ?? 0, 'state reads when nothing is due').toBe(0);
    expect(calls.putRepository ?? 0).toBe(0);
    now += 10 * 60_000; // the tag list is due, no tag is (1 h)
    const due = await w.cycle();
    expect(due.refreshed).toHaveLength(1);
    expect(calls.getRepository, 'state reads of a due, unchanged repository').toBe(1);
    expect(calls.putRepository, 'state writes of a due, unchanged repository').toBe(1);
    const state = (await store.getRepository(`${registry.host}/team/economy`))!;
    expect(state.lastUpdate).toBe(now);
  });

  it('HEADs share connections: 12 tags resolved over at most a few', async () => {
    const relay = await startRelay(registry.host);
    const c = new RegistryClient({ credentials: false });
    try {
      const heads = [];
      for (let i = 0; i < 12; i++) heads.push((await c.headManifest({ registry: relay.host, repository: 'team/economy' }, `v${i}`)).digest);
      expect(new Set(heads).size).toBe(12);
      // One for the /v2/ probe at most, one for the HEADs; undici's default closed after each: 12+.
      expect(relay.connections()).toBeLessThanOrEqual(3);
    } finally {
      await c.close();
      await relay.close();
    }
  });

  it('requestConcurrency bounds the requests of one refresh (1: one connection does every HEAD); out of range is refused', async () => {
    expect(() => new Warmer({ client, store: new KvImageMetadataStore(new MemoryKeyValueStore()), repositories: ['x.io/a/b'], requestConcurrency: 0 })).toThrow(/requestConcurrency/);
    const relay = await startRelay(registry.host);
    const c = new RegistryClient({ credentials: false });
    try {
      const w = new Warmer({ client: c, store: new KvImageMetadataStore(new MemoryKeyValueStore()), repositories: [`${relay.host}/team/economy`], requestConcurrency: 1, facts: false });
      const before = relay.connections();
      const report = await w.cycle();
      expect(report.refreshed).toHaveLength(1);
      expect(report.tagsKnown).toBe(12);
      // The tag list and 12 HEADs, one at a time: one connection (the default, 4 at once, opens up to 4).
      expect(relay.connections() - before).toBeLessThanOrEqual(2);
      expect(relay.maxOpen()).toBeLessThanOrEqual(2);
    } finally {
      await c.close();
      await relay.close();
    }
  });
});

/** A TCP relay to `target` counting connections (all, and most open at once). */
async function startRelay(target: string) {
  const [host, port] = target.split(':') as [string, string];
  let connections = 0;
  let open = 0;
  let maxOpen = 0;
  const relay = net.createServer((down) => {
    connections++;
    maxOpen = Math.max(maxOpen, ++open);
    const up = net.connect(Number(port), host);
    down.pipe(up).pipe(down);
    let closed = false;
    const end = () => {
      if (!closed) open--;
      closed = true;
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  return {
    host: `127.0.0.1:${(relay.address() as net.AddressInfo).port}`,
    connections: () => connections,
    maxOpen: () => maxOpen,
    close: () => new Promise((r) => relay.close(r)),
  };
}
