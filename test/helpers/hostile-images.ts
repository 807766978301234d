/**
 * Helpers of the hostile-input tests of the image metadata cache and warmer (test/images, test/warm, test/cli): raw images a
 * hostile pusher can put into a real registry (nested indexes, lying sizes, odd platforms), request counting from
 * the registry's own access log, the built CLI as a child process.
 */
import crypto from 'node:crypto';
import { MediaType } from '../../src/oci/media-types.js';
import type { RegistryClient } from '../../src/registry/client.js';
import type { RepositoryName } from '../../src/registry/types.js';
import type { RegistryHandle, RegistryRequest } from './registry.js';
import { moteRunner, type MoteRun } from './cli.js';

export const sha256 = (b: Uint8Array): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pushes a config + one layer and a manifest made of them (fields of the manifest overridable); returns the parts. */
export async function pushRawImage(
  client: RegistryClient,
  repo: RepositoryName,
  tag: string | undefined,
  o: { layerSizes?: number[]; created?: string } = {},
): Promise<{ digest: string; bytes: Buffer; configDigest: string; config: Buffer; layerDigest: string }> {
  const layer = crypto.randomBytes(512);
  const layerDigest = sha256(layer);
  await client.pushBlob(repo, layerDigest, layer);
  const config = Buffer.from(
    JSON.stringify({
      created: o.created ?? '2024-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: {} },
      rootfs: { type: 'layers', diff_ids: [layerDigest] },
      nonce: crypto.randomBytes(8).toString('hex'),
    }),
  );
  const configDigest = sha256(config);
  await client.pushBlob(repo, configDigest, config);
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: configDigest, size: config.byteLength },
      layers: (o.layerSizes ?? [layer.byteLength]).map((size) => ({ mediaType: MediaType.OciLayerTarGzip, digest: layerDigest, size })),
    }),
  );
  const digest = sha256(bytes);
  await client.putManifest(repo, tag ?? digest, bytes, MediaType.OciManifest);
  return { digest, bytes, configDigest, config, layerDigest };
}

/** Pushes an OCI index of `children` (digest, size, platform) under `tag` (or by digest). */
export async function pushIndex(
  client: RegistryClient,
  repo: RepositoryName,
  tag: string | undefined,
  children: Array<{ digest: string; size: number; mediaType: string; platform?: { os: string; architecture: string } }>,
): Promise<{ digest: string; bytes: Buffer }> {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: children }));
  const digest = sha256(bytes);
  await client.putManifest(repo, tag ?? digest, bytes, MediaType.OciIndex);
  return { digest, bytes };
}

export interface Served {
  tags: number;
  head: number;
  manifest: number;
  blob: number;
  total: number;
}

/** What the registry served since `before` (its access log), for one repository path (or all). */
export async function served(registry: RegistryHandle, before: number, repository?: string): Promise<Served> {
  const all: RegistryRequest[] = (await registry.requests()).slice(before);
  const n: Served = { tags: 0, head: 0, manifest: 0, blob: 0, total: 0 };
  for (const r of all) {
    if (repository !== undefined && !r.path.startsWith(`/v2/${repository}/`)) continue;
    if (r.path === '/v2/' || r.path === '/v2') continue;
    n.total++;
    if (/\/tags\/list$/.test(r.path)) n.tags++;
    else if (/\/manifests\//.test(r.path)) n[r.method === 'HEAD' ? 'head' : 'manifest']++;
    else if (/\/blobs\//.test(r.path)) n.blob++;
  }
  return n;
}

/** The built CLI, run as test/helpers/cli.ts runs it (private HOME, no outside cache or credential variables). */
export const startMote = (scratch: string, args: string[], timeoutMs = 60_000) => moteRunner(scratch, timeoutMs).start(args);
export const mote = (scratch: string, args: string[], timeoutMs?: number): Promise<MoteRun> => startMote(scratch, args, timeoutMs).done;

/** Polls `cond` every 20 ms until it holds or `ms` pass (then throws with `what`). */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
