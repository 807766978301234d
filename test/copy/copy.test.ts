/**
 * `copy()` against real registries (two docker-registry instances, images pushed by skopeo): registry to
 * registry byte-identical (skopeo inspect --raw), write-through into the store, HEAD skips, cross-repository
 * mounts counted in the registry's own log, manifests and tag last; oci: and oci-archive: both ways.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy, type CopyProgressEvent } from '../../src/copy/index.js';
import { InvalidCopySourceError } from '../../src/copy/errors.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { pushLayout, registryUnavailableReason, skopeo, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-copy-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const sha256 = (b: Buffer | string): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const blobFile = (root: string, digest: string): string => path.join(root, 'blobs', 'sha256', digest.slice(7));
const raw = async (r: RegistryHandle, name: string): Promise<string> =>
  (await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${r.host}/${name}`])).stdout;

let a: RegistryHandle;
let b: RegistryHandle;
let app: BuiltImage;
let multi: BuiltImage;
let layout: string;

beforeAll(async () => {
  if (reason) return;
  [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  layout = fresh('images');
  app = await makeImage(layout, { tag: 'app', layers: [{ size: 300_000 }, { size: 20_000 }] });
  multi = await makeImage(layout, {
    tag: 'multi',
    layers: [{ size: 30_000 }],
    platforms: [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ],
  });
  await pushLayout(layout, 'app', a, 'team/app:v1');
  await pushLayout(layout, 'multi', a, 'team/multi:v1');
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  cleanup();
});

describe.skipIf(reason)('copy (real registries)', () => {
  it('copies registry to registry byte-identical, through the store, tag last; a second copy uploads nothing', async () => {
    const cache = fresh('cache');
    const events: CopyProgressEvent[] = [];
    const r = await copy(`docker://${a.host}/team/app:v1`, `docker://${b.host}/mirror/app:v1`, { cache, onProgress: (e) => events.push(e) });
    expect(r.digest).toBe(app.digest);
    expect(r.sourceDigest).toBe(app.digest);
    expect(await raw(b, 'mirror/app:v1')).toBe(await raw(a, 'team/app:v1'));
    expect(r.blobsUploaded).toBe(2 + 1); // two layers and the config
    expect(r.bytesFromRegistry).toBe(app.totalBytes);
    // Write-through: every blob is in the store.
    for (const x of app.blobs) expect(fs.existsSync(blobFile(cache, x.digest))).toBe(true);
    // The tag is the last request that changed the destination.
    const puts = (await b.requests()).filter((q) => q.method === 'PUT' || q.method === 'PATCH' || q.method === 'POST');
    expect(puts.at(-1)).toEqual(expect.objectContaining({ method: 'PUT', path: '/v2/mirror/app/manifests/v1', status: 201 }));
    expect(events.filter((e) => e.type === 'push').length).toBe(app.blobs.length);

    // Again: nothing downloaded (the store has it), nothing uploaded (HEAD finds it).
    const r2 = await copy(`docker://${a.host}/team/app:v1`, `docker://${b.host}/mirror/app:v1`, { cache });
    expect(r2.bytesFromRegistry).toBe(0);
    expect(r2.blobsUploaded).toBe(0);
    expect(r2.blobsExisting).toBe(3);
  });

  it('mounts blobs known in another repository of the destination registry (counted in its log)', async () => {
    const cache = fresh('cache');
    await copy(`docker://${a.host}/team/app:v1`, `docker://${b.host}/one/app:v1`, { cache });
    const before = (await b.requests()).length;
    const r = await copy(`docker://${a.host}/team/app:v1`, `docker://${b.host}/two/app:v1`, { cache });
    expect(r.blobsMounted).toBe(3);
    expect(r.blobsUploaded).toBe(0);
    expect(r.bytesMounted).toBe(app.totalBytes - app.size);
    const log = (await b.requests()).slice(before);
    const mounts = log.filter((q) => q.method === 'POST' && q.path === '/v2/two/app/blobs/uploads/' && q.status === 201);
    expect(mounts.length).toBe(3);
    expect(log.filter((q) => q.method === 'PATCH' || (q.method === 'PUT' && q.path.includes('/blobs/'))).length).toBe(0);
    expect(await raw(b, 'two/app:v1')).toBe(await raw(a, 'team/app:v1'));
  });

  it('copies every platform of an index with all, digests preserved', async () => {
    const r = await copy(`docker://${a.host}/team/multi:v1`, `docker://${b.host}/mirror/multi:v1`, { cache: fresh('cache'), all: true });
    expect(r.digest).toBe(multi.digest);
    expect(r.manifests).toBe(2);
    expect(await raw(b, 'mirror/multi:v1')).toBe(await raw(a, 'team/multi:v1'));
    for (const m of multi.manifests) expect(await raw(b, `mirror/multi@${m.digest}`)).toBe(await raw(a, `team/multi@${m.digest}`));
  });

  it('copies oci: to a registry and the registry to oci-archive: and back to oci:, digests preserved', async () => {
    const cache = fresh('cache');
    const up = await copy(`oci:${layout}:app`, `docker://${b.host}/fromlayout/app:v2`, { cache });
    expect(up.digest).toBe(app.digest);
    expect(up.bytesFromRegistry).toBe(0);
    const archive = path.join(fresh('archive'), 'app.tar');
    fs.mkdirSync(path.dirname(archive));
    const down = await copy(`docker://${b.host}/fromlayout/app:v2`, `oci-archive:${archive}`, { cache });
    expect(down.digest).toBe(app.digest);
    expect(down.bytesFromRegistry).toBe(0); // a HEAD for the tag: the manifest and blobs were in the store
    const out = fresh('layout');
    const back = await copy(`oci-archive:${archive}:v2`, `oci:${out}:back`, { cache });
    expect(back.digest).toBe(app.digest);
    for (const x of app.blobs) expect(sha256(fs.readFileSync(blobFile(out, x.digest)))).toBe(x.digest);
    await expect(copy(`oci:${layout}:nosuch`, `oci:${fresh('layout')}`, { cache })).rejects.toBeInstanceOf(InvalidCopySourceError);
  });
});

describe('BlobCache (the seed\'s surface over the store)', () => {
  it('hasBlob, directory, clearCache', async () => {
    const { BlobCache } = await import('../../src/copy/index.js');
    const { FileMoteCache } = await import('../../src/store/file-cache.js');
    const dir = fresh('cache');
    const store = new FileMoteCache(dir);
    const info = await store.put(Buffer.from('a layer'));
    const cache = new BlobCache(store);
    expect(cache.directory).toBe(path.resolve(dir));
    expect(await cache.hasBlob({ digest: info.digest, size: 7 })).toBe(true);
    expect(await cache.hasBlob({ digest: info.digest, size: 8 })).toBe(false);
    expect(await cache.hasBlob({ digest: sha256('other') })).toBe(false);
    await expect(cache.hasBlob({ digest: 'sha256:nope' })).rejects.toThrow();
    expect(await cache.clearCache()).toBe(1);
    expect(await cache.hasBlob({ digest: info.digest })).toBe(false);
    await store.close();
  });
});
