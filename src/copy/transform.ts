/**
 * The compression step of a copy: each image layer not already in the asked form is put in it (`layer.ts`), and
 * every manifest naming a changed layer is rewritten (digests, sizes, media types derived from the form used; a
 * Docker manifest asked for zstd becomes an OCI one, as skopeo does), then every index naming a rewritten
 * manifest. The config, and so its `diff_ids`, is unchanged. A signed image is not rewritten unless asked.
 */
import fs from 'node:fs';
import { ErrorCategory, MoteNotFoundError, errorCategory } from '../errors.js';
import { InvalidManifestError } from '../oci/errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { MAX_MANIFEST_BYTES, parseDocument, type ParsedManifest } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import { runPool } from '../pull/concurrency.js';
import { layerCompression, layerMediaType, type Compression } from './codecs.js';
import { SignedImageError } from './errors.js';
import { blobsOf, type StoredImage } from './image.js';
import { layerVariant } from './layer.js';
import type { ResolvedCopyOptions } from './options.js';
import type { CopySession } from './session.js';
import type { CopyEndpoint } from './transports.js';

/** Configs larger than this are not read for their diff_ids (the copy fails rather than allocate on a source's word). */
const MAX_CONFIG_BYTES = 16 << 20;

export async function transformImage(s: CopySession, image: StoredImage, src: CopyEndpoint, o: ResolvedCopyOptions): Promise<StoredImage> {
  if (o.compress === 'preserve') return image;
  const to: Compression = o.compress;
  const plans = await Promise.all(image.manifests.map(async (m) => ({ m, changes: await planManifest(s, m.doc, to) })));
  if (plans.every((p) => p.changes.size === 0)) return image;
  if (!o.removeSignatures) await refuseSigned(s, image, src);

  // Each distinct layer once, however many manifests share it.
  const variants = new Map<string, { digest: string; size: number }>();
  const jobs: { layer: Descriptor; from: Compression; diffId: string }[] = [];
  for (const { changes } of plans) for (const c of changes.values()) if (!jobs.some((j) => j.layer.digest === c.layer.digest)) jobs.push(c);
  await runPool(jobs, o.concurrency, async ({ layer, from, diffId }) => {
    const v = await layerVariant(s, layer, { from, to, mediaType: layerMediaType(to, false), level: o.level }, diffId);
    if (v.substituted) s.counters.layersSubstituted++;
    else {
      s.counters.layersTransformed++;
      s.counters.bytesTransformed += layer.size;
    }
    s.emit({ type: 'transform', digest: layer.digest, to: v.digest, size: v.size, compression: to, substituted: v.substituted });
    variants.set(layer.digest, v);
  });

  // Manifests, then indexes (children before parents: `documents` lists parents first).
  const renamed = new Map<string, Descriptor>();
  const manifests: StoredImage['manifests'] = [];
  for (const { m, changes } of plans) {
    if (changes.size === 0) {
      manifests.push(m);
      continue;
    }
    const raw = JSON.parse((await fs.promises.readFile(s.pathOf(m.descriptor.digest))).toString('utf8')) as Record<string, unknown>;
    const docker = m.doc.mediaType === MediaType.DockerManifest && to !== 'zstd';
    const mediaType = docker ? MediaType.DockerManifest : MediaType.OciManifest;
    raw.mediaType = mediaType;
    const layers = raw.layers as Record<string, unknown>[];
    for (let i = 0; i < layers.length; i++) {
      const form = changes.get(i) ? to : layerCompression(m.doc.layers[i]!);
      const v = changes.get(i) ? variants.get(m.doc.layers[i]!.digest) : undefined;
      layers[i] = { ...layers[i], ...(form && { mediaType: layerMediaType(form, docker) }), ...(v && { digest: v.digest, size: v.size }) };
    }
    if (!docker && m.doc.mediaType === MediaType.DockerManifest) (raw.config as Record<string, unknown>).mediaType = MediaType.OciConfig;
    const d = await storeDocument(s, Buffer.from(JSON.stringify(raw)), mediaType, m.descriptor);
    renamed.set(m.descriptor.digest, d);
    manifests.push({ descriptor: d, doc: parseDocument(await fs.promises.readFile(s.pathOf(d.digest)), mediaType, d.digest) as ParsedManifest });
  }
  const documents = [...image.documents.values()].reverse();
  for (const d of documents) {
    if (renamed.has(d.digest) || manifests.some((m) => m.descriptor.digest === d.digest)) continue;
    const raw = JSON.parse((await fs.promises.readFile(s.pathOf(d.digest))).toString('utf8')) as Record<string, unknown>;
    let oci = false;
    const entries = (raw.manifests as Record<string, unknown>[]).map((e) => {
      const n = renamed.get(e.digest as string);
      if (n?.mediaType === MediaType.OciManifest || n?.mediaType === MediaType.OciIndex) oci = true;
      return n ? { ...e, mediaType: n.mediaType, digest: n.digest, size: n.size } : e;
    });
    if (!entries.some((e, i) => e !== (raw.manifests as unknown[])[i])) continue;
    raw.manifests = entries;
    const mediaType = oci ? MediaType.OciIndex : d.mediaType;
    raw.mediaType = mediaType;
    renamed.set(d.digest, await storeDocument(s, Buffer.from(JSON.stringify(raw)), mediaType, d));
  }
  const rename = (d: Descriptor): Descriptor => renamed.get(d.digest) ?? d;
  const { blobs, skipped } = blobsOf(manifests);
  return {
    top: rename(image.top),
    entry: rename(image.entry),
    documents: new Map([...image.documents.values()].map((d) => [rename(d).digest, rename(d)])),
    manifests,
    blobs,
    skipped,
    platform: image.platform,
  };
}

/** Layers of `doc` to change (by index): the image layers not in form `to`, with their form and diff_id. */
async function planManifest(s: CopySession, doc: ParsedManifest, to: Compression): Promise<Map<number, { layer: Descriptor; from: Compression; diffId: string }>> {
  const changes = new Map<number, { layer: Descriptor; from: Compression; diffId: string }>();
  const forms = doc.layers.map((l) => (l.urls && l.urls.length > 0 ? undefined : layerCompression(l)));
  if (!forms.some((f) => f !== undefined && f !== to)) return changes;
  if (doc.config.size > MAX_CONFIG_BYTES) throw new InvalidManifestError(`config larger than ${MAX_CONFIG_BYTES} bytes`, doc.config.digest);
  let diffIds: unknown;
  try {
    diffIds = (JSON.parse((await fs.promises.readFile(s.pathOf(doc.config.digest))).toString('utf8')) as { rootfs?: { diff_ids?: unknown } }).rootfs?.diff_ids;
  } catch {
    return changes; // not an image config (an artifact): its layers are not recompressed
  }
  if (!Array.isArray(diffIds) || diffIds.length !== doc.layers.length) return changes;
  forms.forEach((from, i) => {
    const diffId = diffIds[i];
    if (from !== undefined && from !== to && typeof diffId === 'string') changes.set(i, { layer: doc.layers[i]!, from, diffId });
  });
  return changes;
}

async function storeDocument(s: CopySession, bytes: Buffer, mediaType: string, old: Descriptor): Promise<Descriptor> {
  if (bytes.length > MAX_MANIFEST_BYTES) throw new InvalidManifestError(`rewritten, larger than ${MAX_MANIFEST_BYTES} bytes`, old.digest);
  const info = await s.local.put(bytes, { mediaType });
  if (!s.lease.hold(info.digest)) throw new MoteNotFoundError(info.digest, 'removed from the store while copying');
  const { digest: _d, size: _s, mediaType: _m, ...rest } = old;
  return { ...rest, mediaType, digest: info.digest, size: info.size };
}

/** A cosign signature tag (`sha256-<hex>.sig`) for the image in the source registry refuses the rewrite. */
async function refuseSigned(s: CopySession, image: StoredImage, src: CopyEndpoint): Promise<void> {
  if (src.transport !== 'docker') return;
  for (const d of new Set([image.top.digest, image.entry.digest])) {
    const tag = `${d.replace(':', '-')}.sig`;
    try {
      await s.client!.headManifest(src.ref, tag, { signal: s.signal });
    } catch (err) {
      if (errorCategory(err) === ErrorCategory.NotFound) continue;
      throw err;
    }
    throw new SignedImageError(d, `${src.ref.registry}/${src.ref.repository}:${tag}`);
  }
}
