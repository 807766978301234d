// Pushes many tagged images into a real registry with the library's own client (the logic of
// test/helpers/push-tags.ts, for the built package): one shared layer per repository (uploaded once), a distinct
// config per image (its `created` time, a nonce), a manifest per image put under each of its tags.
import crypto from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

const sha256 = (b) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

/** Uploads the shared layer and one image's config; returns the manifest bytes and digests (nothing tagged yet). */
async function pushImage(client, repo, layer, image) {
  const config = Buffer.from(
    JSON.stringify({
      ...(image.created !== undefined && { created: image.created }),
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: image.labels ?? {} },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
      nonce: crypto.randomBytes(8).toString('hex'), // distinct configs even for identical facts
    }),
  );
  const configDigest = sha256(config);
  await client.pushBlob(repo, configDigest, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: { mediaType: CONFIG, digest: configDigest, size: config.byteLength },
      layers: [{ mediaType: LAYER, digest: layer.digest, size: layer.bytes.byteLength }],
    }),
  );
  return { manifest, digest: sha256(manifest), configDigest, created: image.created };
}

async function pushLayer(client, repo) {
  const bytes = crypto.randomBytes(1024);
  const layer = { bytes, digest: sha256(bytes) };
  await client.pushBlob(repo, layer.digest, bytes);
  return layer;
}

/**
 * Pushes `images` (`[{ tags, created?, labels? }]`), `concurrency` at once; returns
 * `Map<tag, { digest, configDigest, created }>`.
 */
export async function pushTaggedImages(client, repo, images, concurrency = 8) {
  const layer = await pushLayer(client, repo);
  const byTag = new Map();
  let next = 0;
  const worker = async () => {
    while (next < images.length) {
      const image = images[next++];
      const pushed = await pushImage(client, repo, layer, image);
      for (const tag of image.tags) await client.putManifest(repo, tag, pushed.manifest, MANIFEST);
      for (const tag of image.tags) byTag.set(tag, { digest: pushed.digest, configDigest: pushed.configDigest, created: pushed.created });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return byTag;
}

/**
 * Many tags on few manifests, cheaply: `images` distinct images, then one `putManifest` per tag (tag i on image
 * i mod images), `concurrency` at once, until `tags` are pushed or `budgetMs` has passed. Returns
 * `{ pushed, digests, ms }` (when the budget ran out, `pushed` tags exist, nearly all of them the first ones).
 */
export async function pushManyTags(client, repo, { tags, images, tagName, concurrency = 32, budgetMs = Infinity }) {
  const t0 = performance.now();
  const layer = await pushLayer(client, repo);
  const made = [];
  for (let i = 0; i < images; i++) made.push(await pushImage(client, repo, layer, { created: new Date(Date.UTC(2024, 0, 1 + i)).toISOString() }));
  let next = 0;
  let stop = false;
  const done = new Array(tags).fill(false);
  const worker = async () => {
    while (!stop && next < tags) {
      const i = next++;
      await client.putManifest(repo, tagName(i), made[i % images].manifest, MANIFEST);
      done[i] = true;
      if (performance.now() - t0 > budgetMs) stop = true;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const pushed = done.filter(Boolean).length;
  return { pushed, digests: made.map((m) => m.digest), ms: performance.now() - t0 };
}

/**
 * Tags for manifests the registry already has, written straight into its filesystem storage (`dataDir`, the
 * `rootdirectory` of distribution's filesystem driver): for each tag the two link files distribution itself writes
 * when a manifest is put under a tag (`_manifests/tags/<tag>/current/link` and
 * `_manifests/tags/<tag>/index/sha256/<hex>/link`, each holding the digest). The registry keeps no tag cache, so it
 * serves them as pushed tags (tag list, HEAD, GET). For fixtures too large to push tag by tag (distribution 2.8 puts
 * ~140 tags/s on this VM). `tags`: iterable of `[tag, digest]`.
 */
export function seedTagsOnDisk(dataDir, repository, tags) {
  const root = join(dataDir, 'docker', 'registry', 'v2', 'repositories', repository, '_manifests', 'tags');
  let n = 0;
  for (const [tag, digest] of tags) {
    const dir = join(root, tag);
    mkdirSync(join(dir, 'current'), { recursive: true });
    writeFileSync(join(dir, 'current', 'link'), digest);
    const index = join(dir, 'index', 'sha256', digest.slice('sha256:'.length));
    mkdirSync(index, { recursive: true });
    writeFileSync(join(index, 'link'), digest);
    n++;
  }
  return n;
}
