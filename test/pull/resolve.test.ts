/**
 * Resolving what a pull takes (src/pull/resolve.ts), against hostile indexes pushed to a real registry: breadth is
 * bounded by distinct objects (an index naming one child thousands of times, nested, is fetched and followed once
 * per digest), and a pull past the limits fails clearly instead of growing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/digest/index.js';
import { MediaType } from '../../src/oci/media-types.js';
import { MAX_DOCUMENT_BYTES } from '../../src/pull/options.js';
import { pull } from '../../src/pull/index.js';
import { RegistryClient } from '../../src/registry/client.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-resolve-');
let registry: RegistryHandle;
let client: RegistryClient;
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);

/** A small image manifest (config + one layer) pushed to `repo`; its descriptor. */
async function pushImage(repo: string): Promise<{ mediaType: string; digest: string; size: number }> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.from('a layer of bytes');
  for (const b of [config, layer]) await client.pushBlob(repo, digestOf(b), b);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: digestOf(config), size: config.length },
      layers: [{ mediaType: MediaType.OciLayerTar, digest: digestOf(layer), size: layer.length }],
    }),
  );
  const digest = await client.putManifest(repo, digestOf(manifest), manifest, MediaType.OciManifest);
  return { mediaType: MediaType.OciManifest, digest, size: manifest.length };
}

/** An index listing `children` (repeated `times`), with an annotation to make its digest its own; pushed by digest. */
async function pushIndex(repo: string, children: object[], times: number, label: string): Promise<{ mediaType: string; digest: string; size: number }> {
  const manifests: object[] = [];
  for (let i = 0; i < times; i++) manifests.push(...children);
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, annotations: { label }, manifests }));
  const digest = await client.putManifest(repo, digestOf(bytes), bytes, MediaType.OciIndex);
  return { mediaType: MediaType.OciIndex, digest, size: bytes.length };
}

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  client = new RegistryClient({ credentials: false });
}, 120_000);

afterAll(async () => {
  await client?.close();
  await registry?.stop();
  cleanup();
});

describe.skipIf(reason)('resolving an image (hostile indexes, real registry)', () => {
  it('an index naming one child 2,000 times, three levels deep (8e9 paths), pulls once per distinct object', async () => {
    const repo = `${registry.host}/hostile/fanout`;
    const image = await pushImage(repo);
    const entry = (d: { mediaType: string; digest: string; size: number }) => ({ ...d, platform: { os: 'linux', architecture: 'amd64' } });
    const level3 = await pushIndex(repo, [entry(image)], 2000, 'l3');
    const level2 = await pushIndex(repo, [level3], 2000, 'l2');
    const top = await pushIndex(repo, [level2], 2000, 'l1');
    const manifestGetsBefore = (await registry.requests()).filter((r) => r.method === 'GET' && r.path.includes('/manifests/')).length;

    const dest = fresh('fanout');
    const r = await pull(`${repo}@${top.digest}`, `oci:${dest}`, { cache: fresh('cache'), client, allPlatforms: true });

    // One image manifest, however many times it is named; three indexes; each fetched once.
    expect(r.manifests).toEqual([expect.objectContaining({ digest: image.digest, layers: 1 })]);
    expect(r.blobs).toBe(4 + 2); // three indexes and the manifest, its config and its layer
    const manifestGets = (await registry.requests()).filter((r2) => r2.method === 'GET' && r2.path.includes('/manifests/')).length - manifestGetsBefore;
    expect(manifestGets).toBeLessThanOrEqual(4);
    // The dedup accounting still sees every entry: 2,000 of each child, once deduplicated.
    expect(r.tracker.count).toBe(6);
    const configAndLayer = r.tracker.deduplicated - top.size - level2.size - level3.size - image.size;
    expect(r.tracker.total).toBe(top.size + 2000 * (level2.size + level3.size + image.size) + configAndLayer);
    expect(fs.existsSync(path.join(dest, 'index.json'))).toBe(true);
  });

  it(`manifests and indexes over ${MAX_DOCUMENT_BYTES >> 20} MiB in all: a typed error, nothing written`, async () => {
    const repo = `${registry.host}/hostile/bytes`;
    const image = await pushImage(repo);
    // Distinct indexes of ~4 MiB each (the per-document cap), each naming the image thousands of times.
    const perIndex = Math.floor((4 << 20) / (JSON.stringify(image).length + 1)) - 200;
    const bigs = [];
    for (let i = 0; i < Math.ceil(MAX_DOCUMENT_BYTES / (4 << 20)) + 1; i++) bigs.push(await pushIndex(repo, [image], perIndex, `big-${i}`));
    const top = await pushIndex(repo, bigs, 1, 'top');

    const dest = fresh('bytes');
    const err = await pull(`${repo}@${top.digest}`, `oci:${dest}`, { cache: fresh('cache'), client, allPlatforms: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_INVALID_MANIFEST', category: 'integrity', message: expect.stringContaining('more than a pull takes') });
    expect(fs.existsSync(dest)).toBe(false);
  }, 120_000);
});
