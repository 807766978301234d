/**
 * The facts of one image (ImageInfo), read from a registry by digest: the manifest, and the config of the image
 * (for an index: of the platform chosen, linux/amd64 unless told otherwise, else the first). Every byte is checked
 * against its digest (the client checks manifests; configs are verified here) and bounded.
 */
import { verifyBytes } from '../digest/index.js';
import { DigestMismatchError, SizeMismatchError } from '../errors.js';
import { InvalidManifestError } from '../oci/errors.js';
import { parseDocument, type ParsedManifest } from '../oci/manifest.js';
import { platformScore, type PlatformSpec } from '../oci/platform.js';
import type { Descriptor } from '../oci/descriptor.js';
import { nestedDeeperThan } from '../oci/json.js';
import type { RegistryClient } from '../registry/client.js';
import type { RepositoryName } from '../registry/types.js';
import type { ImageInfo, ImagePlatform } from './types.js';
import { DEFAULT_FACTS_PLATFORM, MAX_CONFIG_BYTES, MAX_LABELS, MAX_LABEL_BYTES, MAX_PLATFORM_FIELD } from './options.js';

export interface FetchImageOptions {
  signal?: AbortSignal;
  /** The platform whose config gives an index's `createdAt` and `labels` (default linux/amd64). */
  platform?: PlatformSpec;
  /** The clock (ms since the epoch), for `lastFetched`. */
  now?: () => number;
  /** Counts each registry request made, by kind. */
  onRequest?: (kind: 'manifest' | 'config') => void;
}

/** The facts of the image `digest` in `repo` (2 requests for an image, 3 for an index). */
export async function fetchImageInfo(client: RegistryClient, repo: RepositoryName, digest: string, options: FetchImageOptions = {}): Promise<ImageInfo> {
  const { signal } = options;
  const top = await client.getManifest(repo, digest, { signal });
  options.onRequest?.('manifest');
  const doc = parseDocument(top.bytes, top.descriptor.mediaType, digest);
  let manifest: ParsedManifest;
  let size = top.bytes.byteLength;
  let platforms: ImagePlatform[] = [];
  if (doc.kind === 'index') {
    platforms = indexPlatforms(doc.manifests);
    const child = pickChild(doc.manifests, options.platform ?? DEFAULT_FACTS_PLATFORM);
    if (!child) return info(repo, top.descriptor.mediaType, digest, { size, platforms, labels: {}, layers: [] }, options);
    const fetched = await client.getManifest(repo, child.digest, { signal });
    options.onRequest?.('manifest');
    const childDoc = parseDocument(fetched.bytes, fetched.descriptor.mediaType, child.digest);
    // An index of indexes: its platforms are the facts (no config is one level further down to stand for it).
    if (childDoc.kind !== 'manifest') return info(repo, top.descriptor.mediaType, digest, { size, platforms, labels: {}, layers: [] }, options);
    manifest = childDoc;
    size += fetched.bytes.byteLength;
  } else {
    manifest = doc;
  }
  // Sizes are the registry's claims: their sum is bounded like any size (a lie past 2^53 makes the image unreadable).
  size += manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0);
  if (!Number.isSafeInteger(size)) throw new InvalidManifestError(`image ${digest}: its sizes add up past ${Number.MAX_SAFE_INTEGER} bytes`);
  const config = await readConfig(client, repo, manifest.config, signal);
  options.onRequest?.('config');
  if (doc.kind === 'manifest' && field(config.os) && field(config.architecture)) {
    platforms = [{ os: config.os, architecture: config.architecture, ...(field(config.variant) && { variant: config.variant }), digest }];
  }
  return info(
    repo,
    top.descriptor.mediaType,
    digest,
    {
      size,
      platforms,
      labels: config.labels,
      layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
      configDigest: manifest.config.digest,
      createdAt: config.createdAt,
    },
    options,
  );
}

function info(
  repo: RepositoryName,
  mediaType: string,
  digest: string,
  facts: Pick<ImageInfo, 'size' | 'platforms' | 'labels' | 'layers'> & { configDigest?: string; createdAt?: string | undefined },
  options: FetchImageOptions,
): ImageInfo {
  return {
    reference: `${repo.registry}/${repo.repository}@${digest}`,
    digest,
    mediaType,
    ...(facts.configDigest !== undefined && { configDigest: facts.configDigest }),
    ...(facts.createdAt !== undefined && { createdAt: facts.createdAt }),
    labels: facts.labels,
    platforms: facts.platforms,
    layers: facts.layers,
    size: facts.size,
    lastFetched: (options.now ?? Date.now)(),
  };
}

/** An index's real platforms (attestations, `unknown/unknown`, and entries without a platform left out). */
function indexPlatforms(manifests: readonly Descriptor[]): ImagePlatform[] {
  const out: ImagePlatform[] = [];
  for (const d of manifests) {
    const p = d.platform;
    if (!p || !field(p.os) || !field(p.architecture) || (p.variant !== undefined && !field(p.variant))) continue;
    if (p.os === 'unknown' && p.architecture === 'unknown') continue;
    out.push({ os: p.os, architecture: p.architecture, ...(typeof p.variant === 'string' && { variant: p.variant }), digest: d.digest });
  }
  return out;
}

/** A platform string as an index or config gives it: kept if it is one (bounded, printable). */
function field(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_PLATFORM_FIELD && /^[\x21-\x7e]+$/.test(v);
}

/** What is kept of an image that cannot be read: its digest and why (see `ImageInfo.unreadable`). */
export function unreadableImage(repo: RepositoryName, digest: string, err: unknown, now: number): ImageInfo {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'ERR_MOTE_FAILURE';
  const message = (err instanceof Error ? err.message : String(err)).slice(0, 512);
  return {
    reference: `${repo.registry}/${repo.repository}@${digest}`,
    digest,
    mediaType: 'application/octet-stream',
    labels: {},
    platforms: [],
    layers: [],
    size: 0,
    lastFetched: now,
    unreadable: { code: code.slice(0, 64), message },
  };
}

/** The entry for `want`, else the first real platform (its facts stand for the image). */
function pickChild(manifests: readonly Descriptor[], want: PlatformSpec): Descriptor | undefined {
  let best: Descriptor | undefined;
  let bestScore = -1;
  for (const d of manifests) {
    const p = d.platform;
    if (!p || !field(p.os) || !field(p.architecture)) continue;
    if (p.os === 'unknown' && p.architecture === 'unknown') continue;
    const score = platformScore(want, p);
    if (score > bestScore) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}

interface ConfigFacts {
  createdAt: string | undefined;
  labels: Record<string, string>;
  os: string | undefined;
  architecture: string | undefined;
  variant: string | undefined;
}

/** The config blob, bounded and verified, and what it says (a config that says nothing useful gives no facts). */
async function readConfig(client: RegistryClient, repo: RepositoryName, d: Descriptor, signal: AbortSignal | undefined): Promise<ConfigFacts> {
  for (;;) {
    try {
      return await readConfigOnce(client, repo, d, signal);
    } catch (err) {
      // Wrong bytes from a mirror: read again from the next mirror or the registry (true at most once per mirror).
      if ((err instanceof DigestMismatchError || err instanceof SizeMismatchError) && client.rejectServed(repo, d.digest)) continue;
      throw err;
    }
  }
}

async function readConfigOnce(client: RegistryClient, repo: RepositoryName, d: Descriptor, signal: AbortSignal | undefined): Promise<ConfigFacts> {
  if (d.size > MAX_CONFIG_BYTES) throw new InvalidManifestError(`config ${d.digest} of ${d.size} bytes: more than ${MAX_CONFIG_BYTES} read for facts`);
  const blob = await client.getBlob(repo, d.digest, { signal });
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of blob.body) {
    n += (chunk as Buffer).byteLength;
    chunks.push(chunk as Buffer);
    if (n > d.size) {
      blob.body.destroy(); // more than the manifest says: the size check below names it
      break;
    }
  }
  const bytes = Buffer.concat(chunks);
  verifyBytes(bytes, { digest: d.digest, size: d.size, source: `config from ${repo.registry}/${repo.repository}` });
  return parseConfig(bytes);
}

/** What an image config says, tolerating missing or odd fields (a config is not required to have any of them). */
export function parseConfig(bytes: Uint8Array): ConfigFacts {
  const text = Buffer.from(bytes).toString('utf8');
  let doc: unknown;
  try {
    doc = nestedDeeperThan(text) ? undefined : JSON.parse(text);
  } catch {
    doc = undefined;
  }
  const o = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length <= 256 ? v : undefined);
  const created = str(o.created);
  const inner = (typeof o.config === 'object' && o.config !== null ? o.config : {}) as Record<string, unknown>;
  return {
    createdAt: created !== undefined && !Number.isNaN(Date.parse(created)) ? new Date(Date.parse(created)).toISOString() : undefined,
    labels: labelsOf(inner.Labels),
    os: str(o.os),
    architecture: str(o.architecture),
    variant: str(o.variant),
  };
}

function labelsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return out;
  let count = 0;
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string' || k.length + val.length > MAX_LABEL_BYTES) continue;
    if (++count > MAX_LABELS) break;
    Object.defineProperty(out, k, { value: val, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
