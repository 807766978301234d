/**
 * A registry that trickles: the minimum transfer rate (`minTransferRate`) fails a body that keeps arriving too
 * slowly for the chunk timeout to notice, on every kind of body (blobs, manifests, error documents), through the
 * pull-through download (final, not resumed forever) and `pull()`; and it never blames the registry for a reader
 * that is slow itself. The overall deadline (`deadlineMs`) bounds a whole pull. A real registry behind the
 * FaultInjectingProxy (a hand-written fake) whose trickle rule does what no real registry can be made to do.
 *
 * Windows are small (a few hundred ms) so the tests are fast; the assertions are on the typed errors, and the
 * time bounds are generous (an order of magnitude above what is expected), so load does not make them fail.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, ErrorCategory, FileMoteCache, PullThroughCache } from '../../src/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { pull, PullTimeoutError } from '../../src/pull/index.js';
import { RegistryClient, RegistryMoteCache, RegistryNotFoundError, RegistryTooSlowError, type RegistryClientOptions } from '../../src/registry/index.js';
import { FaultInjectingProxy, type FaultRule } from '../helpers/fault-proxy.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { pushLayout, registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir, randomData, readAll } from '../helpers/tmp.js';

const skip = registryUnavailableReason();
/** Fails a body under 2000 bytes per 300 ms (the trickles below send ~20 bytes per 300 ms). */
const FAST_CHECK: RegistryClientOptions = { credentials: false, minTransferRate: { bytes: 2000, windowMs: 300 } };
const TRICKLE = { trickle: { bytes: 1, everyMs: 15 } } as const;
/** Far above the ~0.3-0.6 s a verdict takes: only a hang fails it. */
const GENEROUS_MS = 15_000;

describe('minTransferRate: options', () => {
  it('is checked when the client is built; false turns it off', async () => {
    for (const bad of [{ bytes: 0 }, { bytes: 1.5 }, { windowMs: 0 }, { windowMs: 2 ** 31 }, { bytes: -1 }]) {
      expect(() => new RegistryClient({ credentials: false, minTransferRate: bad }), JSON.stringify(bad)).toThrow(InvalidArgumentError);
    }
    await new RegistryClient({ credentials: false, minTransferRate: false }).close();
  });
});

describe.skipIf(skip)('a trickling registry (real registry, trickle injected by the proxy)', () => {
  let reg: RegistryHandle;
  let proxy: FaultInjectingProxy;
  let app: BuiltImage;
  const tmp = makeTempDir('motecache-slow-');
  let n = 0;
  const fresh = (label: string): string => path.join(tmp.dir, `${label}-${++n}`);
  const repo = 'slow/app';
  const big = randomData(2 << 20);
  const bigDigest = digestOf(big);
  const small = randomData(20_000);
  const smallDigest = digestOf(small);
  const trickleBlobs: FaultRule = (r) => (r.method === 'GET' && r.path.includes('/blobs/') ? TRICKLE : 'pass');

  beforeAll(async () => {
    reg = await startRegistry();
    const c = new RegistryClient({ credentials: false });
    await c.pushBlob(`${reg.host}/${repo}`, bigDigest, big);
    await c.pushBlob(`${reg.host}/${repo}`, smallDigest, small);
    await c.close();
    const layout = fresh('images');
    app = await makeImage(layout, { tag: 'app', layers: [{ size: 30_000 }] });
    await pushLayout(layout, 'app', reg, `${repo}:v1`);
    proxy = await FaultInjectingProxy.start(reg.host);
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    await reg?.stop();
    tmp.cleanup();
  });

  async function withClient<T>(options: RegistryClientOptions, fn: (c: RegistryClient) => Promise<T>): Promise<T> {
    const c = new RegistryClient(options);
    try {
      return await fn(c);
    } finally {
      await c.destroy();
    }
  }

  it('a blob body: RegistryTooSlowError naming the registry and the blob, category unavailable', async () => {
    proxy.rule = trickleBlobs;
    const started = Date.now();
    const err = await withClient(FAST_CHECK, async (c) => {
      const blob = await c.getBlob(`${proxy.host}/${repo}`, smallDigest);
      return readAll(blob.body).catch((e: unknown) => e);
    });
    expect(err).toBeInstanceOf(RegistryTooSlowError);
    expect(err).toMatchObject({ code: 'ERR_REGISTRY_TOO_SLOW', category: ErrorCategory.Unavailable, registry: proxy.host, bytes: 2000, windowMs: 300 });
    expect((err as Error).message).toContain(`blob ${proxy.host}/${repo}@${smallDigest}`);
    expect((err as RegistryTooSlowError).received).toBeLessThan(2000);
    expect(Date.now() - started).toBeLessThan(GENEROUS_MS);
  });

  it('a manifest body, and an error document (the 404 is still reported, in bounded time)', async () => {
    proxy.rule = (r) => (r.method === 'GET' && r.path.includes('/manifests/') ? TRICKLE : 'pass');
    await withClient(FAST_CHECK, async (c) => {
      await expect(c.getManifest(`${proxy.host}/${repo}`, 'v1')).rejects.toMatchObject({ code: 'ERR_REGISTRY_TOO_SLOW', registry: proxy.host });
      const started = Date.now();
      // The registry's 404 document is trickled: its details are given up, the status is not.
      await expect(c.getManifest(`${proxy.host}/${repo}`, 'missing')).rejects.toBeInstanceOf(RegistryNotFoundError);
      expect(Date.now() - started).toBeLessThan(GENEROUS_MS);
    });
  });

  it('a body above the minimum rate, and a reader that stops for several windows, are not too slow', async () => {
    proxy.rule = (r) => (r.method === 'GET' && r.path.includes('/blobs/') ? { trickle: { bytes: 4000, everyMs: 20 } } : 'pass');
    await withClient(FAST_CHECK, async (c) => {
      const blob = await c.getBlob(`${proxy.host}/${repo}`, smallDigest);
      expect((await readAll(blob.body)).equals(small)).toBe(true);
    });
    proxy.rule = () => 'pass';
    await withClient(FAST_CHECK, async (c) => {
      const blob = await c.getBlob(`${proxy.host}/${repo}`, bigDigest);
      const chunks: Buffer[] = [];
      let paused = false;
      for await (const chunk of blob.body) {
        chunks.push(chunk as Buffer);
        if (!paused) {
          paused = true;
          await new Promise((r) => setTimeout(r, 1000)); // more than three windows: the reader's time, not the registry's
        }
      }
      expect(Buffer.concat(chunks).equals(big)).toBe(true);
    });
  });

  it('minTransferRate: false lets a trickle go on (for as long as the caller lets it)', async () => {
    proxy.rule = trickleBlobs;
    await withClient({ credentials: false, minTransferRate: false }, async (c) => {
      const blob = await c.getBlob(`${proxy.host}/${repo}`, smallDigest);
      let got = 0;
      blob.body.on('data', (b: Buffer) => (got += b.length));
      const failed = new Promise((_, reject) => blob.body.once('error', reject));
      await Promise.race([new Promise((r) => setTimeout(r, 1000)), failed]);
      expect(got).toBeGreaterThan(0);
      blob.body.destroy();
    });
  });

  it('through the pull-through download: the error itself, after one request (not resumed a few bytes at a time)', async () => {
    proxy.rule = trickleBlobs;
    proxy.requests.length = 0;
    const store = new FileMoteCache(fresh('cache'), { durable: false });
    try {
      await withClient(FAST_CHECK, async (c) => {
        const through = new PullThroughCache(store, new RegistryMoteCache(`${proxy.host}/${repo}`, c));
        await expect(through.fetch(smallDigest)).rejects.toBeInstanceOf(RegistryTooSlowError);
      });
      expect(proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(smallDigest))).toHaveLength(1);
      expect(await store.moteExists(smallDigest)).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('pull() with such a client: RegistryTooSlowError, no destination, only verified blobs in the store', async () => {
    proxy.rule = trickleBlobs;
    const cache = fresh('cache');
    const dest = fresh('layout');
    await withClient(FAST_CHECK, async (client) => {
      await expect(pull(`${proxy.host}/${repo}:v1`, `oci:${dest}`, { cache, client })).rejects.toBeInstanceOf(RegistryTooSlowError);
    });
    expect(fs.existsSync(dest)).toBe(false);
    for (const f of fs.readdirSync(path.join(cache, 'blobs', 'sha256'))) {
      expect(digestOf(fs.readFileSync(path.join(cache, 'blobs', 'sha256', f)))).toBe(`sha256:${f}`);
    }
  });

  it('deadlineMs: a pull still trickling at its deadline rejects with PullTimeoutError, at once, nothing written', async () => {
    proxy.rule = trickleBlobs; // above what the default minimum rate would notice within the deadline
    const cache = fresh('cache');
    const dest = fresh('layout');
    const started = Date.now();
    const err = await pull(`${proxy.host}/${repo}:v1`, `oci:${dest}`, { cache, deadlineMs: 700 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PullTimeoutError);
    expect(err).toMatchObject({ code: 'ERR_PULL_TIMEOUT', category: ErrorCategory.Unavailable, deadlineMs: 700, reference: `${proxy.host}/${repo}:v1` });
    expect(Date.now() - started).toBeLessThan(GENEROUS_MS);
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.readdirSync(path.join(cache, 'blobs', 'sha256')).every((f) => app.blobs.some((b) => b.digest === `sha256:${f}`))).toBe(true);
  });

  it('deadlineMs: a registry that never answers; the caller aborting first is still an AbortError', async () => {
    proxy.rule = (r) => (r.path.includes('/manifests/') ? { delayMs: 5000 } : 'pass');
    const started = Date.now();
    await expect(pull(`${proxy.host}/${repo}:v1`, `oci:${fresh('layout')}`, { cache: fresh('cache'), deadlineMs: 500 })).rejects.toBeInstanceOf(PullTimeoutError);
    expect(Date.now() - started).toBeLessThan(GENEROUS_MS);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await expect(pull(`${proxy.host}/${repo}:v1`, `oci:${fresh('layout')}`, { cache: fresh('cache'), deadlineMs: 60_000, signal: controller.signal })).rejects.toMatchObject({
      code: 'ABORT_ERR',
    });
    proxy.rule = () => 'pass';
  });

  it('deadlineMs is checked: a whole number of milliseconds from 1 to 2^31-1', async () => {
    for (const deadlineMs of [0, -1, 1.5, 2 ** 31, Number.NaN]) {
      await expect(pull(`${proxy.host}/${repo}:v1`, `oci:${fresh('layout')}`, { cache: fresh('cache'), deadlineMs }), String(deadlineMs)).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    }
  });
});
