/**
 * From a reference to the image a pull writes: the top manifest or index, the platform's manifest picked from an
 * index (or every manifest, with all platforms), and what the destination's index.json will point at.
 */
import { DigestMismatchError } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import { InvalidManifestError } from '../oci/errors.js';
import { MAX_MANIFEST_BYTES, parseDocument, type ParsedDocument, type ParsedManifest } from '../oci/manifest.js';
import { availablePlatforms, formatPlatform, selectManifest, type PlatformSpec } from '../oci/platform.js';
import { runPool } from './concurrency.js';
import { fetchManifest } from './manifests.js';
import { MAX_DOCUMENT_BYTES, MAX_DOCUMENTS, MAX_INDEX_DEPTH } from './options.js';
import type { PullSession } from './session.js';

export interface ResolvedImage {
  /** What the reference resolved to (the index's digest for a multi-platform image). */
  top: Descriptor;
  topKind: ParsedDocument['kind'];
  /** What index.json points at: the platform's manifest, or the top document. */
  entry: Descriptor;
  /** Every manifest or index the destination gets, by digest. */
  documents: Map<string, Descriptor>;
  /** The image manifests to pull, in index order. */
  manifests: { descriptor: Descriptor; doc: ParsedManifest }[];
  /** The platform picked from an index, as `os/arch[/variant]`. */
  platform: string | undefined;
  /** Bytes of the manifests and indexes fetched (or found) so far. */
  documentBytes: number;
  /** `os/arch[/variant]` of the top index's entries (empty for a single manifest). */
  platforms: string[];
}

/**
 * Resolves the reference (or `digest`, what an offline pull found its tag recorded as); `want` undefined keeps a
 * whole index (all platforms).
 */
export async function resolveImage(s: PullSession, want: PlatformSpec | undefined, concurrency: number, digest = s.ref.digest): Promise<ResolvedImage> {
  const { ref } = s;
  const fetched = await fetchManifest(s, digest ?? ref.tag ?? 'latest');
  if (digest && fetched.descriptor.digest !== digest) throw new DigestMismatchError(digest, fetched.descriptor.digest);
  s.tracker.add(fetched.descriptor);
  const topDoc = parseDocument(fetched.bytes, fetched.descriptor.mediaType, fetched.descriptor.digest);
  const top: Descriptor = { ...fetched.descriptor, mediaType: topDoc.mediaType };
  const image: ResolvedImage = {
    top,
    topKind: topDoc.kind,
    entry: top,
    documents: new Map(),
    manifests: [],
    platform: undefined,
    documentBytes: fetched.bytes.length,
    platforms: topDoc.kind === 'index' ? availablePlatforms(topDoc.manifests) : [],
  };
  if (topDoc.kind === 'index' && want) {
    // One platform: the destination points at that manifest alone (as `skopeo copy` without --all does).
    const picked = await pickPlatform(s, top, topDoc, want);
    image.entry = picked.descriptor;
    image.platform = picked.platform;
    await collect(s, image, picked.descriptor, picked.doc, 0, concurrency);
  } else {
    await collect(s, image, top, topDoc, 0, concurrency);
  }
  return image;
}

/** Follows an index (and nested indexes) to the manifest for `want`; `bytes` are that manifest's (the top's if no index). */
export async function pickPlatform(
  s: PullSession,
  top: Descriptor,
  topDoc: ParsedDocument,
  want: PlatformSpec,
  topBytes?: Buffer,
): Promise<{ descriptor: Descriptor; doc: ParsedDocument; platform: string | undefined; bytes: Buffer | undefined }> {
  let doc = topDoc;
  let chosen = top;
  let platform: string | undefined;
  let bytes = topBytes;
  for (let depth = 0; doc.kind === 'index'; depth++) {
    if (depth >= MAX_INDEX_DEPTH) throw new InvalidManifestError(`indexes nested deeper than ${MAX_INDEX_DEPTH}`, chosen.digest);
    const pick = selectManifest(doc.manifests, want);
    checkEntrySize(pick, chosen);
    const fetched = await fetchManifest(s, pick.digest, pick);
    s.tracker.add(pick);
    doc = parseDocument(fetched.bytes, pick.mediaType, pick.digest);
    bytes = fetched.bytes;
    chosen = { mediaType: pick.mediaType, digest: pick.digest, size: pick.size, ...(pick.platform && { platform: pick.platform }) };
    if (pick.platform) platform = formatPlatform(pick.platform);
  }
  return { descriptor: chosen, doc, platform, bytes };
}

/**
 * Adds a document to the image: a manifest to pull, or an index whose children are fetched, then followed. Each
 * distinct digest is fetched and followed once, however many entries (in however many indexes) name it: a small
 * hostile index that lists one child many times, nested, must not multiply the work (the depth limit bounds
 * depth, not breadth). Past the limits of options.ts the pull fails instead of growing.
 */
async function collect(s: PullSession, image: ResolvedImage, descriptor: Descriptor, doc: ParsedDocument, depth: number, concurrency: number): Promise<void> {
  image.documents.set(descriptor.digest, descriptor);
  if (doc.kind === 'manifest') {
    image.manifests.push({ descriptor, doc });
    return;
  }
  if (depth >= MAX_INDEX_DEPTH) throw new InvalidManifestError(`indexes nested deeper than ${MAX_INDEX_DEPTH}`, descriptor.digest);
  const fresh = new Map<string, Descriptor>();
  for (const child of doc.manifests) {
    checkEntrySize(child, descriptor);
    s.tracker.add(child);
    if (!image.documents.has(child.digest) && !fresh.has(child.digest)) fresh.set(child.digest, child);
  }
  if (image.documents.size + fresh.size > MAX_DOCUMENTS) {
    throw new InvalidManifestError(`more than ${MAX_DOCUMENTS} distinct manifests and indexes: more than a pull takes`, descriptor.digest);
  }
  const parsed = new Map<string, ParsedDocument>();
  await runPool([...fresh.values()], concurrency, async (child) => {
    const fetched = await fetchManifest(s, child.digest, child);
    image.documentBytes += fetched.bytes.length;
    if (image.documentBytes > MAX_DOCUMENT_BYTES) {
      throw new InvalidManifestError(`manifests and indexes over ${MAX_DOCUMENT_BYTES} bytes in all: more than a pull takes`, descriptor.digest);
    }
    parsed.set(child.digest, parseDocument(fetched.bytes, child.mediaType, child.digest));
  });
  // In index order (the pool finishes in any order), so results are stable.
  for (const child of fresh.values()) await collect(s, image, { ...child }, parsed.get(child.digest)!, depth + 1, concurrency);
}

/** An index entry claiming more than a manifest may be is refused before it is requested. */
function checkEntrySize(entry: Descriptor, index: Descriptor): void {
  if (entry.size > MAX_MANIFEST_BYTES) throw new InvalidManifestError(`entry ${entry.digest} claims ${entry.size} bytes, over the manifest limit`, index.digest);
}
