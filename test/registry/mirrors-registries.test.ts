/**
 * `RegistryClientOptions.mirrors` and `pull({ mirrors })` against two real registries on loopback: one the
 * "upstream" (the registry references name), one the mirror. Which registry served each read is read from the
 * registries' own access logs. A hand-written fault proxy stands in front of the mirror only for what a real
 * registry cannot be made to do: answer 503, or serve wrong bytes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchImageInfo } from '../../src/images/index.js';
import { pull } from '../../src/pull/index.js';
import { RegistryClient, RegistryNotFoundError, type RegistryClientOptions, type RegistryEvent } from '../../src/registry/index.js';
import { FaultInjectingProxy } from '../helpers/fault-proxy.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { freePort } from '../helpers/net.js';
import { pushLayout, registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir, readAll } from '../helpers/tmp.js';

const skip = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-mirrors-');
let n = 0;
const fresh = (label: string): string => `${scratch}/${label}-${++n}`;
/** Few, short retries: a failing mirror costs its retries before the next source is asked. */
const FAST = { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 } };

/** Requests a registry served for one repository since `before` (an index into its access log). */
async function hits(reg: RegistryHandle, repository: string, before = 0): Promise<string[]> {
  return (await reg.requests())
    .slice(before)
    .filter((r) => r.path.startsWith(`/v2/${repository}/`))
    .map((r) => `${r.method} ${r.path.slice(`/v2/${repository}/`.length).replace(/sha256:[0-9a-f]{64}/, 'DIGEST')} ${r.status}`);
}

describe.skipIf(skip)('mirrors against real registries', () => {
  let upstream: RegistryHandle;
  let mirror: RegistryHandle;
  let app: BuiltImage;
  let other: BuiltImage;
  const clients: RegistryClient[] = [];
  const client = (o: RegistryClientOptions): RegistryClient => {
    const c = new RegistryClient({ credentials: false, ...FAST, ...o });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    [upstream, mirror] = await Promise.all([startRegistry(), startRegistry()]);
    const layout = fresh('images');
    app = await makeImage(layout, { tag: 'app', layers: [{ size: 20_000 }, { size: 5_000 }] });
    other = await makeImage(layout, { tag: 'other', layers: [{ size: 8_000 }] });
    await Promise.all([
      // team/app: the mirror alone has it, under two path prefixes.
      pushLayout(layout, 'app', mirror, 'hub/team/app:v1'),
      pushLayout(layout, 'app', mirror, 'second/team/app:v1'),
      // team/other: the upstream alone.
      pushLayout(layout, 'other', upstream, 'team/other:v1'),
      // team/both: each of them.
      pushLayout(layout, 'app', upstream, 'team/both:v1'),
      pushLayout(layout, 'app', mirror, 'team/both:v1'),
    ]);
  }, 180_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([upstream?.stop(), mirror?.stop()]);
    cleanup();
  });

  it('the first mirror that has the image serves every read (tag, digest, blobs); the upstream is not asked', async () => {
    const c = client({ mirrors: { [upstream.host]: { mirrors: [{ location: `${mirror.host}/hub` }, { location: `${mirror.host}/second` }] } } });
    const [mBefore, uBefore] = [(await mirror.requests()).length, (await upstream.requests()).length];
    const byTag = await c.getManifest(`${upstream.host}/team/app`, 'v1');
    expect(byTag.descriptor.digest).toBe(app.digest);
    const layer = app.manifests[0]!.layers[0]!;
    const blob = await c.getBlob(`${upstream.host}/team/app`, layer.digest);
    expect((await readAll(blob.body)).length).toBe(layer.size);
    expect((await c.headManifest(`${upstream.host}/team/app`, app.digest)).digest).toBe(app.digest);
    expect(await hits(mirror, 'hub/team/app', mBefore)).toEqual(['GET manifests/v1 200', 'GET blobs/DIGEST 200', 'HEAD manifests/DIGEST 200']);
    expect(await hits(mirror, 'second/team/app', mBefore)).toEqual([]); // order: the first mirror answered
    expect((await upstream.requests()).length).toBe(uBefore);
    // Without mirrors the upstream is the only source, and it has no team/app.
    await expect(client({}).getManifest(`${upstream.host}/team/app`, 'v1')).rejects.toBeInstanceOf(RegistryNotFoundError);
  });

  it('a mirror that 404s (no such repository there), one that is down, one that answers 503: each falls through to the next, then the upstream', async () => {
    const down = `127.0.0.1:${await freePort()}`;
    // Fault proxy: a mirror whose every answer is a server error (a real registry will not do that on demand).
    const failing = await FaultInjectingProxy.start(mirror.host, () => ({ status: 503, body: 'maintenance' }));
    try {
      const events: RegistryEvent[] = [];
      const mirrors = { [upstream.host]: { mirrors: [{ location: `${mirror.host}/hub` }, { location: down }, { location: failing.host }] } };
      const dest = fresh('layout');
      const r = await pull(`${upstream.host}/team/other:v1`, `oci:${dest}`, { cache: fresh('cache'), mirrors, onRegistryEvent: (e) => events.push(e) });
      expect(r.digest).toBe(other.digest);
      const fallbacks = events.filter((e): e is Extract<RegistryEvent, { type: 'mirror-fallback' }> => e.type === 'mirror-fallback');
      expect(fallbacks.length).toBeGreaterThanOrEqual(3);
      expect(fallbacks.slice(0, 3).map((e) => e.mirror)).toEqual([`${mirror.host}/hub`, down, failing.host]);
      expect(fallbacks[0]!.reason).toContain('ERR_REGISTRY_NOT_FOUND');
      expect(fallbacks[1]!.reason).toContain('ERR_REGISTRY_UNAVAILABLE');
      expect(fallbacks.find((e) => e.mirror === failing.host)!.reason).toMatch(/503|ERR_REGISTRY_UNAVAILABLE/);
      // Every blob came from the upstream in the end.
      for (const b of other.manifests[0]!.layers) expect(await upstream.blobGets(b.digest), b.digest).toBe(1);
      // Down and failing: passed over for the pull's later reads (each would pay the client's retries again);
      // the mirror that only lacked the repository was asked again for each read.
      expect(fallbacks.filter((e) => e.mirror === down)).toHaveLength(1);
      expect(fallbacks.filter((e) => e.mirror === failing.host)).toHaveLength(1);
      expect(fallbacks.filter((e) => e.mirror === `${mirror.host}/hub`).length).toBeGreaterThan(1);
    } finally {
      await failing.stop();
    }
  });

  it('digestOnly: a tag is resolved by the upstream alone, content by digest still comes from the mirror', async () => {
    const c = client({ mirrors: { [upstream.host]: { mirrors: [{ location: `${mirror.host}/hub` }], digestOnly: true } } });
    const mBefore = (await mirror.requests()).length;
    await expect(c.getManifest(`${upstream.host}/team/app`, 'v1')).rejects.toBeInstanceOf(RegistryNotFoundError);
    await expect(c.headManifest(`${upstream.host}/team/app`, 'v1')).rejects.toBeInstanceOf(RegistryNotFoundError);
    expect(await hits(mirror, 'hub/team/app', mBefore)).toEqual([]);
    expect((await c.getManifest(`${upstream.host}/team/app`, app.digest)).descriptor.digest).toBe(app.digest);
    expect(await hits(mirror, 'hub/team/app', mBefore)).toEqual(['GET manifests/DIGEST 200']);
    // pull() by digest: wholly from the mirror.
    const r = await pull(`${upstream.host}/team/app@${app.digest}`, `oci:${fresh('layout')}:v1`, {
      cache: fresh('cache'),
      mirrors: { [upstream.host]: { mirrors: [{ location: `${mirror.host}/hub` }], digestOnly: true } },
    });
    expect(r.digest).toBe(app.digest);
  });

  it('a mirror that serves a blob with wrong bytes: the pull still succeeds, the blob read again from the upstream, with a MOTECACHE_MIRROR_INTEGRITY warning', async () => {
    const layer = app.manifests[0]!.layers[0]!;
    // Fault proxy: the mirror's answer for one layer is bytes of the right length that are not the layer.
    const liar = await FaultInjectingProxy.start(mirror.host, (r) =>
      r.method === 'GET' && r.path.endsWith(`/blobs/${layer.digest}`)
        ? { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(layer.size, 7) }
        : 'pass',
    );
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const before = await upstream.blobGets(layer.digest);
      const r = await pull(`${upstream.host}/team/both:v1`, `oci:${fresh('layout')}`, {
        cache: fresh('cache'),
        mirrors: { [upstream.host]: { mirrors: [{ location: liar.host }] } },
      });
      expect(r.digest).toBe(app.digest);
      expect(await upstream.blobGets(layer.digest)).toBe(before + 1);
      // Only the lied-about layer came from the upstream; the rest from the mirror.
      expect(await upstream.blobGets(app.manifests[0]!.layers[1]!.digest)).toBe(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => (w as { code?: string }).code)).toContain('MOTECACHE_MIRROR_INTEGRITY');
    } finally {
      process.off('warning', onWarning);
      await liar.stop();
    }
  });

  it('a mirror that serves a config with wrong bytes: image facts (fetchImageInfo, which reads configs itself) come from the upstream', async () => {
    const config = app.manifests[0]!.config;
    // Fault proxy: the config blob's bytes, wrong, of the right length.
    const liar = await FaultInjectingProxy.start(mirror.host, (r) =>
      r.method === 'GET' && r.path.endsWith(`/blobs/${config.digest}`) ? { status: 200, body: Buffer.alloc(config.size, 0x20) } : 'pass',
    );
    const onWarning = () => {};
    process.on('warning', onWarning); // MOTECACHE_MIRROR_INTEGRITY (its own test is above)
    try {
      const c = client({ mirrors: { [upstream.host]: { mirrors: [{ location: liar.host }] } } });
      const before = await upstream.blobGets(config.digest);
      const info = await fetchImageInfo(c, { registry: upstream.host, repository: 'team/both' }, app.digest);
      expect(info.configDigest).toBe(config.digest);
      expect(await upstream.blobGets(config.digest)).toBe(before + 1);
      expect(liar.requests.filter((q) => q.path.endsWith(`/blobs/${config.digest}`))).toHaveLength(1);
    } finally {
      await new Promise((resolve) => setImmediate(resolve));
      process.off('warning', onWarning);
      await liar.stop();
    }
  });
});
