/**
 * The files of an OCI image layout (image-spec `image-layout.md`): `oci-layout`, `index.json` (parsed, validated,
 * merged with a new entry) and the blob paths. The mote store's root, `oci:` destinations and `oci-archive:`
 * archives are all such layouts.
 */
import { parseDigest } from '../digest/index.js';
import { quoted } from '../internal/describe.js';
import { validateDescriptor, type Descriptor } from './descriptor.js';
import { InvalidLayoutError } from './errors.js';
import { MAX_JSON_DEPTH, nestedDeeperThan } from './json.js';
import { MediaType } from './media-types.js';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_LAYOUT_CONTENT = JSON.stringify({ imageLayoutVersion: '1.0.0' });
export const INDEX_FILE = 'index.json';
/** The annotation a layout names its images by (what `oci:dir:tag` means). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** `index.json` is read whole; an index this large is not a layout anyone wrote by hand or by tool. */
export const MAX_INDEX_BYTES = 16 * 1024 * 1024;

/** `index.json`: an OCI index. Fields other than `manifests` are kept as they were. */
export interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  [field: string]: unknown;
}

/** `blobs/<alg>/<encoded>` relative to a layout root (POSIX separators, for archives too). Validates the digest. */
export function blobRelPath(digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return `blobs/${algorithm}/${encoded}`;
}

/** A fresh, empty `index.json`. */
export function emptyLayoutIndex(): LayoutIndex {
  return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
}

function parseJson(bytes: Uint8Array, where: string, name: string): unknown {
  const text = Buffer.from(bytes).toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new InvalidLayoutError(where, `${name} is not JSON`);
  }
  // index.json is written back with what it held: refused if it could not be.
  if (nestedDeeperThan(text)) throw new InvalidLayoutError(where, `${name} is nested deeper than ${MAX_JSON_DEPTH} levels`);
  return doc;
}

/** Checks an `oci-layout` file's content. @throws InvalidLayoutError */
export function checkOciLayoutFile(bytes: Uint8Array, where: string): void {
  const doc = parseJson(bytes, where, OCI_LAYOUT_FILE);
  const version = (doc as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
    throw new InvalidLayoutError(where, `unsupported imageLayoutVersion ${quoted(version)}`);
  }
}

/** Parses and validates an `index.json` (each entry a valid descriptor). @throws InvalidLayoutError */
export function parseLayoutIndex(bytes: Uint8Array, where: string): LayoutIndex {
  if (bytes.byteLength > MAX_INDEX_BYTES) throw new InvalidLayoutError(where, 'index.json is too large');
  const doc = parseJson(bytes, where, INDEX_FILE);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InvalidLayoutError(where, 'index.json is not an object');
  const o = doc as Record<string, unknown>;
  if (o.schemaVersion !== 2) throw new InvalidLayoutError(where, 'index.json: schemaVersion is not 2');
  const manifests = o.manifests === undefined || o.manifests === null ? [] : o.manifests;
  if (!Array.isArray(manifests)) throw new InvalidLayoutError(where, 'index.json: manifests is not an array');
  try {
    // Kept verbatim (not the validated copy) so that fields this code does not know survive the rewrite.
    manifests.forEach((m, i) => validateDescriptor(m, `index.json manifests[${i}]`));
  } catch (err) {
    throw new InvalidLayoutError(where, (err as Error).message);
  }
  return { ...o, schemaVersion: 2, manifests: manifests as Descriptor[] };
}

/**
 * `index` with `entry` added under `tag`: an entry already carrying that ref.name is replaced (a tag names one
 * image), every other entry is kept. Without a tag, an untagged entry for the same digest is replaced instead,
 * so pulling one digest twice does not list it twice.
 */
export function mergeLayoutIndex(index: LayoutIndex | undefined, entry: Descriptor, tag: string | undefined): LayoutIndex {
  const base = index ?? emptyLayoutIndex();
  const kept = base.manifests.filter((m) => {
    const name = m.annotations?.[REF_NAME_ANNOTATION];
    return tag !== undefined ? name !== tag : !(name === undefined && m.digest === entry.digest);
  });
  const added: Descriptor = { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
  if (entry.platform) added.platform = entry.platform;
  if (tag !== undefined) added.annotations = { [REF_NAME_ANNOTATION]: tag };
  return { ...base, manifests: [...kept, added] };
}

export function serializeIndex(index: LayoutIndex): string {
  return JSON.stringify(index);
}
