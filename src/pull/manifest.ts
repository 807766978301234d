/**
 * Parsing and validating what a registry hands back before anything is fetched on its word: manifests, indexes,
 * and every descriptor in them (digest, size, media type). A descriptor that fails here is never requested, so no
 * registry can steer `pull` to a bad path or an absurd allocation.
 */
import { parseDigest } from '../digest/index.js';
import { InvalidDescriptorError, InvalidDigestError } from '../errors.js';
import { MediaType, type Descriptor, type Platform } from '../registry/types.js';
import { InvalidManifestError } from './errors.js';
import { MAX_MANIFEST_BYTES } from '../registry/client.js';

// RFC 6838 type/subtype (restricted-name), as the OCI spec requires; parameters are not allowed in descriptors.
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

export const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([MediaType.OciIndex, MediaType.DockerManifestList]);
export const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set([MediaType.OciManifest, MediaType.DockerManifest]);

/** Media types of layers that must not be pushed elsewhere and are usually not in the registry (see `urls`). */
export const FOREIGN_LAYER_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
]);

export function isIndexMediaType(t: string): boolean {
  return INDEX_MEDIA_TYPES.has(t);
}

export function isManifestMediaType(t: string): boolean {
  return MANIFEST_MEDIA_TYPES.has(t);
}

export function isValidMediaType(t: unknown): t is string {
  return typeof t === 'string' && MEDIA_TYPE_RE.test(t);
}

/**
 * Checks one descriptor: `digest` parses, `size` is a whole number ≥ 0 (and at most `maxSize` when given),
 * `mediaType` is a media type, `urls` (if any) are strings, `platform` (if any) has string `os`/`architecture`.
 * Returns a clean copy holding only the known fields.
 * @throws InvalidDescriptorError
 */
export function validateDescriptor(value: unknown, where: string, maxSize?: number): Descriptor {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidDescriptorError(`${where}: not an object`);
  const d = value as Record<string, unknown>;
  if (typeof d.digest !== 'string') throw new InvalidDescriptorError(`${where}: digest missing`);
  try {
    parseDigest(d.digest);
  } catch (err) {
    if (err instanceof InvalidDigestError) throw new InvalidDescriptorError(`${where}: ${err.message}`);
    throw err;
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new InvalidDescriptorError(`${where}: size must be a whole number >= 0, got ${JSON.stringify(d.size)}`);
  }
  if (maxSize !== undefined && d.size > maxSize) throw new InvalidDescriptorError(`${where}: size ${d.size} is over the limit of ${maxSize} bytes`);
  if (!isValidMediaType(d.mediaType)) throw new InvalidDescriptorError(`${where}: bad media type ${JSON.stringify(d.mediaType)}`);
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.urls !== undefined) {
    if (!Array.isArray(d.urls) || !d.urls.every((u) => typeof u === 'string')) throw new InvalidDescriptorError(`${where}: urls must be strings`);
    out.urls = [...(d.urls as string[])];
  }
  if (d.annotations !== undefined) {
    if (typeof d.annotations !== 'object' || d.annotations === null || Array.isArray(d.annotations)) {
      throw new InvalidDescriptorError(`${where}: annotations must be an object`);
    }
    out.annotations = { ...(d.annotations as Record<string, string>) };
  }
  if (d.platform !== undefined) {
    const p = d.platform as Partial<Platform> | null;
    if (typeof p !== 'object' || p === null || typeof p.os !== 'string' || typeof p.architecture !== 'string') {
      throw new InvalidDescriptorError(`${where}: platform needs string os and architecture`);
    }
    if (p.variant !== undefined && typeof p.variant !== 'string') throw new InvalidDescriptorError(`${where}: platform variant must be a string`);
    out.platform = { ...p } as Platform;
  }
  if (typeof d.artifactType === 'string') out.artifactType = d.artifactType;
  return out;
}

export interface ParsedIndex {
  kind: 'index';
  mediaType: string;
  manifests: Descriptor[];
}

export interface ParsedManifest {
  kind: 'manifest';
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

export type ParsedDocument = ParsedIndex | ParsedManifest;

/**
 * Parses a manifest or index. `mediaType` is what it was served or described as; when that is generic
 * (`application/json`, missing) the document's own `mediaType` field, then its shape, decide. A document whose
 * `mediaType` field contradicts a specific served type is refused (the OCI spec requires them to agree), as are
 * Docker schema 1 manifests (unsigned schema 1 has no digest-stable form; registries convert on request anyway).
 * @throws InvalidManifestError, InvalidDescriptorError
 */
export function parseDocument(bytes: Uint8Array, mediaType: string | undefined, digest?: string): ParsedDocument {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) throw new InvalidManifestError(`larger than ${MAX_MANIFEST_BYTES} bytes`, digest);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    throw new InvalidManifestError('not JSON', digest);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InvalidManifestError('not a JSON object', digest);
  const o = doc as Record<string, unknown>;
  if (o.schemaVersion !== 2) throw new InvalidManifestError(`schemaVersion ${JSON.stringify(o.schemaVersion)} is not supported (only 2)`, digest);
  const own = typeof o.mediaType === 'string' ? o.mediaType : undefined;
  const served = mediaType !== undefined && (isIndexMediaType(mediaType) || isManifestMediaType(mediaType)) ? mediaType : undefined;
  if (served && own && own !== served) throw new InvalidManifestError(`served as ${served} but says it is ${own}`, digest);
  let type = served ?? own;
  if (type === undefined) {
    if (Array.isArray(o.manifests)) type = MediaType.OciIndex;
    else if (o.config !== undefined) type = MediaType.OciManifest;
  }
  if (type !== undefined && isIndexMediaType(type)) {
    if (!Array.isArray(o.manifests)) throw new InvalidManifestError('an index needs a manifests array', digest);
    const manifests = o.manifests.map((m, i) => validateDescriptor(m, `manifests[${i}]`));
    return { kind: 'index', mediaType: type, manifests };
  }
  if (type !== undefined && isManifestMediaType(type)) {
    const config = validateDescriptor(o.config, 'config');
    if (!Array.isArray(o.layers)) throw new InvalidManifestError('a manifest needs a layers array', digest);
    const layers = o.layers.map((l, i) => validateDescriptor(l, `layers[${i}]`));
    return { kind: 'manifest', mediaType: type, config, layers };
  }
  throw new InvalidManifestError(`unsupported media type ${JSON.stringify(type ?? mediaType)}`, digest);
}
