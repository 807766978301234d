/**
 * Parsing and validating what a registry hands back before anything is fetched on its word: manifests, indexes,
 * and every descriptor in them (digest, size, media type). A descriptor that fails here is never requested, so no
 * registry can steer `pull` to a bad path or an absurd allocation.
 */
import { validateDescriptor, type Descriptor } from './descriptor.js';
import { quoted } from '../internal/describe.js';
import { InvalidManifestError } from './errors.js';
import { MAX_JSON_DEPTH, nestedDeeperThan } from './json.js';
import { MediaType, isIndexMediaType, isManifestMediaType } from './media-types.js';

/** Manifests larger than this are refused (the limit distribution and containerd apply). */
export const MAX_MANIFEST_BYTES = 4 << 20;

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
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InvalidManifestError('not JSON', digest);
  }
  if (nestedDeeperThan(text)) throw new InvalidManifestError(`nested deeper than ${MAX_JSON_DEPTH} levels`, digest);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InvalidManifestError('not a JSON object', digest);
  const o = doc as Record<string, unknown>;
  if (o.schemaVersion !== 2) throw new InvalidManifestError(`schemaVersion ${quoted(o.schemaVersion)} is not supported (only 2)`, digest);
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
