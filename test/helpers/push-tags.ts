/**
 * Pushes many tagged images into a real registry with the project's own client: one shared layer per repository
 * (uploaded once), a distinct config per image (its `created` time and labels), a manifest per image under its
 * tag(s). Much faster than one skopeo run per tag, and every image has different facts to find.
 */
import crypto from 'node:crypto';
import { MediaType } from '../../src/oci/media-types.js';
import type { RegistryClient } from '../../src/registry/client.js';
import type { RepositoryName } from '../../src/registry/types.js';

const sha256 = (b: Uint8Array): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

export interface ImageToPush {
  /** Tags pointing at this image. */
  tags: string[];
  created?: string;
  labels?: Record<string, string>;
}

export interface PushedImage {
  digest: string;
  configDigest: string;
  created: string | undefined;
  size: number;
}

/** Pushes the images (in order, `concurrency` at once); returns each image's digest by tag. */
export async function pushTaggedImages(
  client: RegistryClient,
  repo: RepositoryName,
  images: readonly ImageToPush[],
  concurrency = 8,
): Promise<Map<string, PushedImage>> {
  const layer = crypto.randomBytes(1024);
  const layerDigest = sha256(layer);
  await client.pushBlob(repo, layerDigest, layer);
  const byTag = new Map<string, PushedImage>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < images.length) {
      const image = images[next++]!;
      const config = Buffer.from(
        JSON.stringify({
          ...(image.created !== undefined && { created: image.created }),
          architecture: 'amd64',
          os: 'linux',
          config: { Labels: image.labels ?? {} },
          rootfs: { type: 'layers', diff_ids: [layerDigest] },
          nonce: crypto.randomBytes(8).toString('hex'), // distinct configs even for identical facts
        }),
      );
      const configDigest = sha256(config);
      await client.pushBlob(repo, configDigest, config);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.OciManifest,
          config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.byteLength },
          layers: [{ mediaType: MediaType.OciLayerTarGzip, digest: layerDigest, size: layer.byteLength }],
        }),
      );
      const digest = sha256(manifest);
      for (const tag of image.tags) await client.putManifest(repo, tag, manifest, MediaType.OciManifest);
      const pushed = { digest, configDigest, created: image.created, size: manifest.byteLength + config.byteLength + layer.byteLength };
      for (const tag of image.tags) byTag.set(tag, pushed);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return byTag;
}
