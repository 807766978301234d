/**
 * `pull()` against a real registry (docker-registry, images pushed by skopeo): what lands in the destination and
 * the store, the accounting, platforms, and failures that must leave nothing behind.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileMoteCache } from '../../src/store/file-cache.js';
import { pull, type PullProgressEvent } from '../../src/pull/index.js';
import { PlatformNotFoundError } from '../../src/oci/errors.js';
import { readLayoutIndex } from '../../src/pull/destination/oci-dir.js';
import { REF_NAME_ANNOTATION } from '../../src/oci/image-layout.js';
import { RegistryClient } from '../../src/registry/client.js';
import { InvalidCredentialsError, RegistryAuthError, RegistryNotFoundError } from '../../src/registry/errors.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { locateLayerDigest, SqliteBlobInfoCache } from '../../src/blobinfo/index.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { FaultInjectingProxy } from '../helpers/fault-proxy.js';
import { pushLayout, registryUnavailableReason, skopeo, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-pull-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const sha256 = (b: Buffer | string): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const blobFile = (root: string, digest: string): string => path.join(root, 'blobs', 'sha256', digest.slice(7));

let registry: RegistryHandle;
let app: BuiltImage;
let multi: BuiltImage;
let other: BuiltImage;

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  const layout = fresh('images');
  app = await makeImage(layout, { tag: 'app', layers: [{ size: 400_000 }, { size: 30_000 }] });
  other = await makeImage(layout, { tag: 'other', layers: [{ size: 60_000 }] });
  multi = await makeImage(layout, {
    tag: 'multi',
    layers: [{ size: 40_000 }, { size: 10_000 }],
    platforms: [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ],
  });
  await pushLayout(layout, 'app', registry, 'team/app:v1');
  await pushLayout(layout, 'other', registry, 'team/other:v1');
  await pushLayout(layout, 'multi', registry, 'team/multi:v1');
}, 120_000);

afterAll(async () => {
  await registry?.stop();
  cleanup();
});

describe.skipIf(reason)('pull (real registry)', () => {
  it('pulls an image into an OCI layout through the store, then a second time from the store alone', async () => {
    const cache = fresh('cache');
    const dest = fresh('layout');
    const events: PullProgressEvent[] = [];
    const before = await registry.blobGets();
    const r = await pull(`${registry.host}/team/app:v1`, `oci:${dest}`, { cache, onProgress: (e) => events.push(e) });

    expect(r.reference).toBe(`${registry.host}/team/app:v1`);
    expect(r.digest).toBe(app.digest);
    expect(r.destination).toBe(`oci:${dest}:v1`);
    expect(r.blobs).toBe(app.blobs.length);
    expect(r.manifests).toEqual([expect.objectContaining({ digest: app.digest, layers: 2 })]);
    // Every byte came from the registry, each blob once.
    expect(r.bytesFromRegistry).toBe(app.totalBytes);
    expect(r.bytesFromCache).toBe(0);
    expect(r.tracker).toEqual({ total: app.totalBytes, deduplicated: app.totalBytes, count: app.blobs.length });
    for (const b of app.blobs.filter((x) => x.digest !== app.digest)) expect(await registry.blobGets(b.digest)).toBe(1);

    // Destination: the tag (from the reference), every blob, verified content, the manifest bytes unchanged.
    const index = await readLayoutIndex(dest);
    expect(index.manifests).toEqual([expect.objectContaining({ digest: app.digest, annotations: { [REF_NAME_ANNOTATION]: 'v1' } })]);
    for (const b of app.blobs) {
      expect(sha256(fs.readFileSync(blobFile(dest, b.digest)))).toBe(b.digest);
      expect(fs.existsSync(blobFile(cache, b.digest))).toBe(true); // and in the store
    }
    // Progress: every blob started and finished, downloads reported as they went.
    const done = events.filter((e) => e.type === 'done');
    expect(new Set(done.map((e) => e.digest))).toEqual(new Set(app.blobs.map((b) => b.digest)));
    expect(done.every((e) => e.source === 'registry')).toBe(true);
    expect(events.some((e) => e.type === 'progress')).toBe(true);
    // What each blob is, and one plan (the config and layers: count and bytes) before the first of them starts.
    const kinds = new Map(done.map((e) => [e.digest, e.kind]));
    expect(kinds.get(app.digest)).toBe('manifest');
    expect(kinds.get(app.manifests[0]!.config.digest)).toBe('config');
    for (const l of app.manifests[0]!.layers) expect(kinds.get(l.digest)).toBe('layer');
    expect(events.filter((e) => e.type === 'plan')).toEqual([{ type: 'plan', blobs: 3, size: app.totalBytes - app.size }]);
    const plan = events.findIndex((e) => e.type === 'plan');
    expect(events.findIndex((e) => e.type === 'start' && e.kind !== 'manifest')).toBeGreaterThan(plan);

    // Second pull, another destination: no blob request at all, nothing from the registry.
    const gets = await registry.blobGets();
    expect(gets - before).toBe(app.blobs.length - 1);
    const again: PullProgressEvent[] = [];
    const r2 = await pull(`${registry.host}/team/app:v1`, `oci:${fresh('layout')}:copy`, { cache, onProgress: (e) => again.push(e) });
    expect(await registry.blobGets()).toBe(gets);
    expect(r2.bytesFromRegistry).toBe(0);
    expect(r2.bytesFromCache).toBe(app.totalBytes);
    expect(r2.destination.endsWith(':copy')).toBe(true);
    expect(again.filter((e) => e.type === 'done').every((e) => e.source === 'cache')).toBe(true);
  });

  it('hard-links blobs from the cache into a layout on the same filesystem (copies with placement copy); prune keeps linked motes', async () => {
    const cache = fresh('cache');
    const linked = fresh('layout');
    const copied = fresh('layout');
    await pull(`${registry.host}/team/app:v1`, `oci:${linked}`, { cache });
    await pull(`${registry.host}/team/app:v1`, `oci:${copied}`, { cache, placement: 'copy' });
    for (const b of app.blobs) {
      const inCache = fs.statSync(blobFile(cache, b.digest));
      const l = fs.statSync(blobFile(linked, b.digest));
      const c = fs.statSync(blobFile(copied, b.digest));
      expect(l.ino).toBe(inCache.ino); // one inode: the bytes are on disk once
      expect(c.ino).not.toBe(inCache.ino);
      expect(sha256(fs.readFileSync(blobFile(copied, b.digest)))).toBe(b.digest);
    }
    // Pruning the cache to nothing keeps every mote a layout still links (removing our name would free nothing)...
    const store = new FileMoteCache(cache);
    try {
      await store.prune(0);
      for (const b of app.blobs) expect(fs.existsSync(blobFile(cache, b.digest))).toBe(true);
      // ...and removes them once the layout is gone.
      fs.rmSync(linked, { recursive: true, force: true });
      const result = await store.prune(0);
      expect(result.removed).toBe(app.blobs.length);
      for (const b of app.blobs) expect(fs.existsSync(blobFile(cache, b.digest))).toBe(false);
      // The copied layout is intact.
      for (const b of app.blobs) expect(sha256(fs.readFileSync(blobFile(copied, b.digest)))).toBe(b.digest);
    } finally {
      await store.close();
    }
    await expect(pull(`${registry.host}/team/app:v1`, `oci:${fresh('layout')}`, { cache, placement: 'hardlink' as never })).rejects.toMatchObject({
      code: 'ERR_MOTE_INVALID_ARGUMENT',
    });
  });

  it('pulls by digest (no tag, no ref.name) and accepts a FileMoteCache and a client of the caller', async () => {
    const store = new FileMoteCache(fresh('cache'));
    const client = new RegistryClient({ credentials: false });
    const dest = fresh('layout');
    try {
      const r = await pull(`${registry.host}/team/app@${app.digest}`, { transport: 'oci', path: dest }, { cache: store, client });
      expect(r.digest).toBe(app.digest);
      const index = await readLayoutIndex(dest);
      expect(index.manifests).toHaveLength(1);
      expect(index.manifests[0]!.annotations).toBeUndefined();
      expect(await store.moteExists(app.digest)).toBe(true);
      // The caller's client is not closed by pull.
      expect((await client.headManifest({ registry: registry.host, repository: 'team/app' }, 'v1')).digest).toBe(app.digest);
    } finally {
      await client.close();
      await store.close();
    }
  });

  it("a caller's FileMoteCache with a fallback of its own: the pull still brings every blob into the store, from the registry", async () => {
    // The fallback (a mirror holding the whole image) must not count as "already in the store".
    const mirror = new FileMoteCache(fresh('mirror'));
    const root = fresh('cache');
    const store = new FileMoteCache(root, { fallback: mirror });
    try {
      await pull(`${registry.host}/team/app:v1`, `oci:${fresh('layout')}`, { cache: mirror });
      const events: PullProgressEvent[] = [];
      const r = await pull(`${registry.host}/team/app:v1`, `oci:${fresh('layout')}`, { cache: store, onProgress: (e) => events.push(e) });
      for (const b of app.blobs) expect(fs.existsSync(blobFile(root, b.digest)), b.digest).toBe(true);
      expect(events.filter((e) => e.type === 'done').every((e) => e.source === 'registry')).toBe(true);
      expect(r.bytesFromRegistry).toBe(app.totalBytes);
      // The caller's store is not closed, nor changed: still usable, still reading through its fallback.
      expect(store.fallback).toBe(mirror);
      expect(await store.moteExists(app.digest)).toBe(true);
    } finally {
      await store.close();
      await mirror.close();
    }
  });

  it('picks one platform from an index: the layout points at that manifest and holds only its blobs', async () => {
    const dest = fresh('layout');
    const r = await pull(`${registry.host}/team/multi:v1`, `oci:${dest}`, { cache: fresh('cache'), platform: 'linux/arm64' });
    const arm64 = multi.manifests.find((m) => m.platform?.architecture === 'arm64')!;
    expect(r.digest).toBe(multi.digest);
    expect(r.platform).toBe('linux/arm64/v8');
    expect(r.manifests.map((m) => m.digest)).toEqual([arm64.digest]);
    const index = await readLayoutIndex(dest);
    expect(index.manifests).toEqual([expect.objectContaining({ digest: arm64.digest, annotations: { [REF_NAME_ANNOTATION]: 'v1' } })]);
    const present = fs.readdirSync(path.join(dest, 'blobs', 'sha256')).map((f) => `sha256:${f}`).sort();
    expect(present).toEqual([arm64.digest, arm64.config.digest, ...arm64.layers.map((l) => l.digest)].sort());
    const raw = (await skopeo(['inspect', '--raw', `oci:${dest}:v1`])).stdout;
    expect(sha256(raw)).toBe(arm64.digest);
  });

  it('keeps the whole index with --all-platforms', async () => {
    const dest = fresh('layout');
    const r = await pull(`${registry.host}/team/multi:v1`, `oci:${dest}:all`, { cache: fresh('cache'), allPlatforms: true });
    expect(r.platform).toBeUndefined();
    expect(r.manifests.map((m) => m.platform).sort()).toEqual(['linux/amd64', 'linux/arm/v7', 'linux/arm64/v8']);
    expect(r.blobs).toBe(multi.blobs.length);
    expect(r.tracker.deduplicated).toBe(multi.totalBytes);
    const index = await readLayoutIndex(dest);
    expect(index.manifests).toEqual([expect.objectContaining({ digest: multi.digest, annotations: { [REF_NAME_ANNOTATION]: 'all' } })]);
    for (const b of multi.blobs) expect(sha256(fs.readFileSync(blobFile(dest, b.digest)))).toBe(b.digest);
    const raw = (await skopeo(['inspect', '--raw', `oci:${dest}:all`])).stdout;
    expect(sha256(raw)).toBe(multi.digest); // the original index bytes
  });

  it('names the available platforms when none matches, and creates nothing', async () => {
    const dest = fresh('layout');
    const err = await pull(`${registry.host}/team/multi:v1`, `oci:${dest}`, { cache: fresh('cache'), platform: 'linux/s390x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlatformNotFoundError);
    expect((err as PlatformNotFoundError).available).toEqual(['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7']);
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('writes an oci-archive that skopeo reads; a second image added keeps the first', async () => {
    const cache = fresh('cache');
    const file = path.join(fresh('dir'), 'images.tar');
    await pull(`${registry.host}/team/app:v1`, `oci-archive:${file}:app`, { cache });
    await pull(`${registry.host}/team/other:v1`, `oci-archive:${file}:other`, { cache });
    expect(sha256((await skopeo(['inspect', '--raw', `oci-archive:${file}:app`])).stdout)).toBe(app.digest);
    expect(sha256((await skopeo(['inspect', '--raw', `oci-archive:${file}:other`])).stdout)).toBe(other.digest);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['images.tar']);
  });

  it('unknown repository or tag: RegistryNotFoundError, no destination', async () => {
    const dest = fresh('layout');
    for (const ref of [`${registry.host}/team/nope:v1`, `${registry.host}/team/app:nope`]) {
      const err = await pull(ref, `oci:${dest}`, { cache: fresh('cache') }).catch((e: unknown) => e);
      expect(err, ref).toBeInstanceOf(RegistryNotFoundError);
      expect(fs.existsSync(dest)).toBe(false);
    }
  });

  it('an aborted pull rejects with AbortError and writes no destination', async () => {
    const dest = fresh('layout');
    const controller = new AbortController();
    controller.abort();
    await expect(pull(`${registry.host}/team/app:v1`, `oci:${dest}`, { cache: fresh('cache'), signal: controller.signal })).rejects.toMatchObject({
      code: 'ABORT_ERR',
    });
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('aborting mid-download rejects with AbortError, writes no destination, leaves only verified blobs', async () => {
    const cache = fresh('cache');
    const dest = fresh('layout');
    const controller = new AbortController();
    // Slow blob bodies down so the abort lands while they are being received.
    const proxy = await FaultInjectingProxy.start(registry.host, (req) => (req.path.includes('/blobs/') ? { delayMs: 300 } : 'pass'));
    try {
      const p = pull(`${proxy.host}/team/app:v1`, `oci:${dest}`, {
        cache,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.type === 'start' && e.source === 'registry' && e.mediaType !== app.mediaType) controller.abort();
        },
      });
      await expect(p).rejects.toMatchObject({ code: 'ABORT_ERR' });
      expect(fs.existsSync(dest)).toBe(false);
      const dir = path.join(cache, 'blobs', 'sha256');
      for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
        expect(sha256(fs.readFileSync(path.join(dir, f)))).toBe(`sha256:${f}`);
      }
    } finally {
      await proxy.stop();
    }
  });

  it('a registry that lies about a blob: DigestMismatchError, nothing of it in the store, no destination', async () => {
    const layer = app.manifests[0]!.layers[0]!;
    const proxy = await FaultInjectingProxy.start(registry.host, (req) =>
      req.method === 'GET' && req.path.endsWith(`/blobs/${layer.digest}`)
        ? { status: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': String(layer.size) }, body: 'x'.repeat(layer.size) }
        : 'pass',
    );
    try {
      const cache = fresh('cache');
      const dest = fresh('layout');
      const err = await pull(`${proxy.host}/team/app:v1`, `oci:${dest}`, { cache }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'ERR_MOTE_DIGEST_MISMATCH' });
      // It names the object and where it came from: the registry, the repository and the blob.
      const where = `http://${proxy.host}/v2/team/app/blobs/${layer.digest}`;
      expect(err).toMatchObject({ expected: layer.digest, source: `from ${where}`, message: expect.stringContaining(where) });
      expect(fs.existsSync(blobFile(cache, layer.digest))).toBe(false);
      expect(fs.existsSync(dest)).toBe(false);
    } finally {
      await proxy.stop();
    }
  });
  it('configs and layers already in the store with no media type get the manifest\'s (find, list); a known one is kept', async () => {
    const cache = fresh('cache');
    const store = new FileMoteCache(cache, { durable: false });
    const [manifest] = app.manifests;
    const [layer, second] = manifest!.layers;
    const bytesOf = (digest: string): Buffer => fs.readFileSync(blobFile(app.layout, digest));
    // Brought in before without a type (a put, a read through a registry, which keeps none for blobs)...
    await store.put(bytesOf(manifest!.config.digest));
    await store.put(bytesOf(layer!.digest));
    // ... or with one of its own: the first type recorded stays.
    await store.put(bytesOf(second!.digest), { mediaType: 'application/vnd.example.first' });
    await pull(`${registry.host}/team/app:v1`, `oci:${fresh('layout')}`, { cache: store });
    expect((await store.find(manifest!.config.digest))?.mediaType).toBe(manifest!.config.mediaType);
    expect((await store.find(layer!.digest))?.mediaType).toBe(layer!.mediaType);
    expect((await store.find(second!.digest))?.mediaType).toBe('application/vnd.example.first');
    const listed = new Map<string, string>();
    for await (const m of store.list()) listed.set(m.digest, m.mediaType);
    expect(listed.get(layer!.digest)).toBe(layer!.mediaType);
    expect(listed.get(manifest!.config.digest)).toBe('application/vnd.oci.image.config.v1+json');
    await store.close();
  });

  it("records where each downloaded layer came from in the store's blob-info cache; a warm pull never opens it", async () => {
    const cache = fresh('cache');
    await pull(`${registry.host}/team/other:v1`, `oci:${fresh('layout')}`, { cache });
    const db = path.join(cache, '.mote', 'blobinfo.db');
    const bic = new SqliteBlobInfoCache(db);
    for (const layer of other.manifests[0]!.layers) {
      const found = await locateLayerDigest(bic, layer.digest, `${registry.host}/team/elsewhere:v1`, true);
      expect(found.map(String)).toEqual([`${registry.host}/team/other@${layer.digest}`]);
    }
    await bic.close();
    fs.rmSync(db);
    await pull(`${registry.host}/team/other:v1`, `oci:${fresh('layout')}`, { cache });
    expect(fs.existsSync(db)).toBe(false);
  });
});

describe.skipIf(reason)('pull while another process prunes the store (a real `mote prune`)', () => {
  const cli = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'dist', 'bin', 'mote.js');

  it('what the pull holds survives `mote prune --max-size 0`; what it did not hold yet is fetched again the right way', async () => {
    const cache = fresh('cache');
    // Copies, not links: a layout's hard links would keep the motes from prune on their own.
    await pull(`${registry.host}/team/app:v1`, `oci:${fresh('first')}`, { cache, placement: 'copy' });
    const dest = fresh('layout');
    let pruned: { removedCount: number } | undefined;
    const events: PullProgressEvent[] = [];
    const r = await pull(`${registry.host}/team/app:v1`, `oci:${dest}`, {
      cache,
      concurrency: 1,
      onProgress: (e) => {
        events.push(e);
        // Right after the first blob is found in the store (the manifest found and held before it), a separate
        // process prunes everything it may: the pull is suspended meanwhile, so the interleaving is certain.
        if (!pruned && e.type === 'done' && e.source === 'cache' && e.digest !== app.digest) {
          pruned = JSON.parse(execFileSync(process.execPath, [cli, 'prune', '--max-size', '0', '--cache', cache, '--json'], { encoding: 'utf8' })) as { removedCount: number };
        }
      },
    });
    expect(pruned).toBeDefined();
    // The manifest and the first blob were held: not removed. The blobs not yet held were, and came from the registry.
    expect(pruned!.removedCount).toBe(app.blobs.length - 2);
    expect(r.digest).toBe(app.digest);
    expect(events.filter((e) => e.type === 'done' && e.source === 'registry')).toHaveLength(app.blobs.length - 2);
    for (const b of app.blobs) expect(sha256(fs.readFileSync(blobFile(dest, b.digest)))).toBe(b.digest);
    // Once the pull is over, its lease is gone: with the layout's own links gone too, a prune removes everything.
    fs.rmSync(dest, { recursive: true });
    const after = JSON.parse(execFileSync(process.execPath, [cli, 'prune', '--max-size', '0', '--cache', cache, '--json'], { encoding: 'utf8' })) as { removedCount: number };
    expect(after.removedCount).toBe(app.blobs.length);
    expect(fs.readdirSync(path.join(cache, '.mote', 'tmp')).filter((n) => n.endsWith('.lease'))).toEqual([]);
  });
});

describe.skipIf(reason)('pull: sizes bound every download (a lying registry, FaultInjectingProxy)', () => {
  it('a registry that claims and sends far more than the manifest declares: stopped at the declared size, typed, nothing kept', async () => {
    const layer = app.manifests[0]!.layers[0]!;
    const huge = 32 << 20;
    let sent = 0;
    const proxy = await FaultInjectingProxy.start(registry.host, (req) => {
      if (!req.path.endsWith(`/blobs/${layer.digest}`)) return 'pass';
      // HEAD and GET agree with each other, and both lie about the size the manifest gave.
      if (req.method === 'GET') sent++;
      return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: Buffer.alloc(huge, 7) }; // a HEAD gets its length, not its bytes
    });
    try {
      const cache = fresh('cache');
      const dest = fresh('layout');
      const err = await pull(`${proxy.host}/team/app:v1`, `oci:${dest}`, { cache }).catch((e: unknown) => e);
      // Stopped by the manifest's size (not by the registry's, which would have let 32 MiB be written first), and
      // the error names the registry, the repository and the blob.
      expect(err).toMatchObject({ code: 'ERR_MOTE_SIZE_MISMATCH', expected: layer.size, message: expect.stringContaining(`${proxy.host}/v2/team/app/blobs/${layer.digest}`) });
      expect((err as { actual: number }).actual).toBeLessThan(layer.size + (1 << 20));
      expect(sent).toBe(1); // a wrong size is final: not retried
      expect(fs.existsSync(blobFile(cache, layer.digest))).toBe(false);
      expect(fs.readdirSync(path.join(cache, '.mote', 'partial'))).toEqual([]);
      expect(fs.existsSync(dest)).toBe(false);
    } finally {
      await proxy.stop();
    }
  });
});

describe.skipIf(reason)('pull (registry with Basic auth)', () => {
  let secured: RegistryHandle;
  beforeAll(async () => {
    secured = await startRegistry({ auth: 'basic' });
    const layout = fresh('images');
    await makeImage(layout, { tag: 'small', layers: [{ size: 5_000 }] });
    await pushLayout(layout, 'small', secured, 'private/small:v1');
  }, 120_000);
  afterAll(async () => secured?.stop());

  const authFile = (user: string, password: string): string => {
    const file = path.join(fresh('auth'), 'auth.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } }));
    return file;
  };

  it('pulls with the right credentials from an auth file', async () => {
    const r = await pull(`${secured.host}/private/small:v1`, `oci:${fresh('layout')}`, {
      cache: fresh('cache'),
      authFile: authFile(secured.username!, secured.password!),
    });
    expect(r.blobs).toBe(3);
  });

  it('an explicit auth file that cannot be used fails before any request and before the cache is made', async () => {
    const proxy = await FaultInjectingProxy.start(secured.host);
    try {
      const dir = fresh('auth');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'bad.json'), '{"auths": ');
      for (const file of [path.join(dir, 'missing.json'), path.join(dir, 'bad.json'), dir, '']) {
        const cache = fresh('cache');
        const dest = fresh('layout');
        const err = await pull(`${proxy.host}/private/small:v1`, `oci:${dest}`, { cache, authFile: file }).catch((e: unknown) => e);
        expect(err, file).toBeInstanceOf(InvalidCredentialsError);
        expect(fs.existsSync(cache), file).toBe(false);
        expect(fs.existsSync(dest), file).toBe(false);
      }
      expect(proxy.requests).toEqual([]);
    } finally {
      await proxy.stop();
    }
  });

  it('insecure or authFile beside a client of your own: InvalidArgumentError, not silently ignored', async () => {
    const client = new RegistryClient();
    try {
      for (const extra of [{ authFile: authFile(secured.username!, secured.password!) }, { insecure: ['elsewhere:5000'] }]) {
        await expect(pull(`${secured.host}/private/small:v1`, `oci:${fresh('layout')}`, { cache: fresh('cache'), client, ...extra })).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
      }
    } finally {
      await client.close();
    }
  });

  it('wrong credentials: RegistryAuthError, no destination', async () => {
    const dest = fresh('layout');
    const err = await pull(`${secured.host}/private/small:v1`, `oci:${dest}`, {
      cache: fresh('cache'),
      authFile: authFile(secured.username!, 'wrong-password'),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect(String((err as Error).message)).not.toContain('wrong-password');
    expect(fs.existsSync(dest)).toBe(false);
  });
});
