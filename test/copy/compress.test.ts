/**
 * Compression variants against real registries and real tools: a zstd copy that skopeo copies back (to gzip)
 * and umoci unpacks to the same file tree as the original; a second recompressing copy compresses nothing
 * (variants substituted from the store); gzip <-> none <-> zstd; a lying source (wrong diff_id, wrong digest)
 * publishes nothing and pushes no manifest; a destination that refuses pushes gives a typed error and no tag.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copy, SignedImageError } from '../../src/copy/index.js';
import { DigestMismatchError, errorCategory, ErrorCategory } from '../../src/errors.js';
import { MediaType } from '../../src/oci/media-types.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { pushLayout, registryUnavailableReason, skopeo, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-copyz-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const sha256 = (b: Buffer | string): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const blobFile = (root: string, digest: string): string => path.join(root, 'blobs', 'sha256', digest.slice(7));
const inspectRaw = async (r: RegistryHandle, name: string): Promise<Record<string, any>> =>
  JSON.parse((await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${r.host}/${name}`])).stdout);

/** Every file under `dir` (relative path → sha256, or the link target / `dir`). */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      const p = path.join(dir, r);
      if (e.isDirectory()) {
        out[r] = 'dir';
        walk(r);
      } else if (e.isSymbolicLink()) out[r] = `-> ${fs.readlinkSync(p)}`;
      else out[r] = sha256(fs.readFileSync(p));
    }
  };
  walk('');
  return out;
}

function unpack(layout: string, tag: string): Record<string, string> {
  const bundle = fresh('bundle');
  execFileSync('umoci', ['unpack', '--rootless', '--image', `${layout}:${tag}`, bundle], { stdio: 'pipe' });
  return tree(path.join(bundle, 'rootfs'));
}

/** A copy of the layout's image whose config lies about the first layer's diff_id, tagged `liar`. */
function lieAboutDiffId(layout: string, image: BuiltImage): void {
  const m = image.manifests[0]!;
  const config = JSON.parse(fs.readFileSync(blobFile(layout, m.config.digest), 'utf8'));
  config.rootfs.diff_ids[0] = sha256('not this layer');
  const cBytes = Buffer.from(JSON.stringify(config));
  fs.writeFileSync(blobFile(layout, sha256(cBytes)), cBytes);
  const manifest = JSON.parse(fs.readFileSync(blobFile(layout, m.digest), 'utf8'));
  manifest.config = { ...manifest.config, digest: sha256(cBytes), size: cBytes.length };
  const mBytes = Buffer.from(JSON.stringify(manifest));
  fs.writeFileSync(blobFile(layout, sha256(mBytes)), mBytes);
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
  index.manifests.push({ mediaType: MediaType.OciManifest, digest: sha256(mBytes), size: mBytes.length, annotations: { 'org.opencontainers.image.ref.name': 'liar' } });
  fs.writeFileSync(path.join(layout, 'index.json'), JSON.stringify(index));
}

let a: RegistryHandle;
let b: RegistryHandle;
let app: BuiltImage;
let layout: string;

beforeAll(async () => {
  if (reason) return;
  [a, b] = await Promise.all([startRegistry(), startRegistry()]);
  layout = fresh('images');
  app = await makeImage(layout, { tag: 'app', layers: [{ size: 400_000 }, { size: 50_000 }, { size: 3_000 }] });
  await pushLayout(layout, 'app', a, 'team/app:v1');
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  cleanup();
});

describe.skipIf(reason)('copy with compression variants (real registries, skopeo, umoci)', () => {
  it('a zstd copy unpacks (via skopeo back to gzip, then umoci) to the same tree; the second copy compresses nothing', async () => {
    const cache = fresh('cache');
    const r = await copy(`docker://${a.host}/team/app:v1`, `docker://${b.host}/z/app:v1`, { cache, compress: 'zstd' });
    expect(r.layersTransformed).toBe(3);
    expect(r.layersSubstituted).toBe(0);
    expect(r.digest).not.toBe(app.digest);
    const manifest = await inspectRaw(b, 'z/app:v1');
    expect(manifest.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual(Array(3).fill('application/vnd.oci.image.layer.v1.tar+zstd'));
    expect(manifest.config.digest).toBe(app.manifests[0]!.config.digest); // diff_ids unchanged
    for (const l of manifest.layers) expect(fs.readFileSync(blobFile(cache, l.digest)).subarray(0, 4).toString('hex')).toBe('28b52ffd'); // zstd frames, in the store

    const back = fresh('back');
    await skopeo(['--insecure-policy', 'copy', '--src-tls-verify=false', '--dest-compress-format', 'gzip', `docker://${b.host}/z/app:v1`, `oci:${back}:app`]);
    expect(unpack(back, 'app')).toEqual(unpack(layout, 'app'));

    // Same copy to another repository: every layer substituted from the store, nothing compressed, same digest.
    const again = await copy(`docker://${a.host}/team/app:v1`, `docker://${b.host}/z2/app:v1`, { cache, compress: 'zstd' });
    expect(again.layersTransformed).toBe(0);
    expect(again.layersSubstituted).toBe(3);
    expect(again.digest).toBe(r.digest);
    expect(again.bytesFromRegistry).toBe(0);
  });

  it('gzip -> none -> gzip keeps diff_ids and both forms stay known (any number of variants per layer)', async () => {
    const cache = fresh('cache');
    const plain = await copy(`oci:${layout}:app`, `oci:${fresh('layout')}:plain`, { cache, compress: 'none' });
    expect(plain.layersTransformed).toBe(3);
    const zstd = await copy(`oci:${layout}:app`, `oci:${fresh('layout')}:z`, { cache, compress: 'zstd', compressLevel: 5 });
    expect(zstd.layersTransformed).toBe(3);
    // From the uncompressed copy back to gzip: the original gzip blobs are known variants, substituted.
    const plainOut = fresh('layout');
    await copy(`oci:${layout}:app`, `oci:${plainOut}:plain`, { cache, compress: 'none' });
    const gz = await copy(`oci:${plainOut}:plain`, `docker://${b.host}/gz/app:v1`, { cache, compress: 'gzip' });
    expect(gz.layersSubstituted).toBe(3);
    expect(gz.digest).toBe(app.digest);
  });

  it('a lying source publishes nothing: wrong diff_id, then wrong blob content', async () => {
    const liar = fresh('images');
    fs.cpSync(layout, liar, { recursive: true });
    lieAboutDiffId(liar, app);
    const before = (await b.requests()).length;
    const err = await copy(`oci:${liar}:liar`, `docker://${b.host}/liar/app:v1`, { cache: fresh('cache'), compress: 'zstd' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigestMismatchError);
    const corrupt = fresh('images');
    fs.cpSync(layout, corrupt, { recursive: true });
    const layer = blobFile(corrupt, app.manifests[0]!.layers[1]!.digest);
    fs.chmodSync(layer, 0o644);
    fs.writeFileSync(layer, Buffer.alloc(fs.statSync(layer).size, 1));
    const err2 = await copy(`oci:${corrupt}:app`, `docker://${b.host}/liar/app:v1`, { cache: fresh('cache') }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(DigestMismatchError);
    const log = (await b.requests()).slice(before);
    expect(log.filter((q) => q.path.startsWith('/v2/liar/') && q.method !== 'HEAD' && q.method !== 'GET')).toEqual([]);
  });

  it('a signed image (a cosign sha256-<hex>.sig tag) is not rewritten unless removeSignatures; copied as is, it is', async () => {
    const cache = fresh('cache');
    // Any manifest under the signature tag marks it signed (cosign's signature is an image of its own).
    await skopeo(['--insecure-policy', 'copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:app`, `docker://${a.host}/team/signed:${app.digest.replace(':', '-')}.sig`]);
    await pushLayout(layout, 'app', a, 'team/signed:v1');
    const refused = await copy(`docker://${a.host}/team/signed:v1`, `docker://${b.host}/signed/app:v1`, { cache, compress: 'zstd' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SignedImageError);
    expect((refused as SignedImageError).code).toBe('ERR_SIGNED_IMAGE');
    await expect(inspectRaw(b, 'signed/app:v1')).rejects.toThrow();
    // Nothing to rewrite (already gzip): copied as is, digests preserved.
    expect((await copy(`docker://${a.host}/team/signed:v1`, `docker://${b.host}/signed/app:v1`, { cache, compress: 'gzip' })).digest).toBe(app.digest);
    const dropped = await copy(`docker://${a.host}/team/signed:v1`, `docker://${b.host}/signed/app:z`, { cache, compress: 'zstd', removeSignatures: true });
    expect(dropped.digest).not.toBe(app.digest);
  });

  it('a destination that refuses pushes (a proxy-mode registry: 405) gives a typed error and no tag', async () => {
    const proxy = await startRegistry({ proxyRemoteUrl: a.url });
    try {
      const err = await copy(`docker://${a.host}/team/app:v1`, `docker://${proxy.host}/team/other:v1`, { cache: fresh('cache') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as { code?: string }).code).toMatch(/^ERR_/);
      expect(errorCategory(err)).toBe(ErrorCategory.Unsupported);
      expect((await proxy.requests()).some((q) => q.method === 'PUT' && q.path.includes('/manifests/'))).toBe(false);
    } finally {
      await proxy.stop();
    }
  });
});
