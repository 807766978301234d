/**
 * An image a copy works on, all of it in the store and held by the copy's lease: what the source named, the
 * documents (manifests, indexes) and every config and layer, by digest. Both sources produce one; the transform
 * step produces another (rewritten manifests); both destinations write one.
 */
import type { Descriptor } from '../oci/descriptor.js';
import type { ParsedManifest } from '../oci/manifest.js';

export interface StoredImage {
  /** What the source reference resolved to. */
  top: Descriptor;
  /** What the destination names: the platform's manifest, or `top`. */
  entry: Descriptor;
  /** Manifests and indexes the destination gets, by digest, parents before children (push goes in reverse). */
  documents: Map<string, Descriptor>;
  /** Image manifests in index order. */
  manifests: { descriptor: Descriptor; doc: ParsedManifest }[];
  /** Distinct configs and layers (foreign layers excluded). */
  blobs: Descriptor[];
  /** Foreign (non-distributable) layers: neither fetched nor pushed. */
  skipped: Descriptor[];
  platform: string | undefined;
}

/** Distinct configs and layers of `manifests` (foreign layers apart). */
export function blobsOf(manifests: readonly { doc: ParsedManifest }[]): { blobs: Descriptor[]; skipped: Descriptor[] } {
  const blobs = new Map<string, Descriptor>();
  const skipped = new Map<string, Descriptor>();
  for (const { doc } of manifests) {
    for (const d of [doc.config, ...doc.layers]) {
      if (d.urls && d.urls.length > 0) skipped.set(d.digest, d);
      else if (!blobs.has(d.digest)) blobs.set(d.digest, d);
    }
  }
  return { blobs: [...blobs.values()], skipped: [...skipped.values()] };
}

/** Every blob the destination gets: documents, configs and layers, distinct. */
export function allBlobs(image: StoredImage): Descriptor[] {
  const all = new Map<string, Descriptor>();
  for (const d of image.blobs) all.set(d.digest, d);
  for (const d of image.documents.values()) all.set(d.digest, d);
  return [...all.values()];
}
