/**
 * A local source, `oci:DIR[:TAG]` or `oci-archive:FILE[:TAG]`: the image named in index.json (by its
 * `org.opencontainers.image.ref.name`, or the only one there) is read into the store, every blob verified against
 * its digest and size as the store keeps it, then held by the copy. An archive is extracted (and verified) into a
 * temporary directory first, removed at the end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MoteNotFoundError } from '../errors.js';
import { throwIfAborted } from '../internal/abort.js';
import { READ_NOFOLLOW } from '../internal/fs.js';
import type { Descriptor } from '../oci/descriptor.js';
import { InvalidManifestError } from '../oci/errors.js';
import { REF_NAME_ANNOTATION, type LayoutIndex } from '../oci/image-layout.js';
import { parseDocument, MAX_MANIFEST_BYTES, type ParsedDocument } from '../oci/manifest.js';
import { isIndexMediaType } from '../oci/media-types.js';
import { formatPlatform, selectManifest, type PlatformSpec } from '../oci/platform.js';
import { blobPathIn } from '../pull/destination/blob-source.js';
import { readOciArchive } from '../pull/destination/oci-archive.js';
import { readLayoutIndex } from '../pull/destination/oci-dir.js';
import type { PullDestination } from '../pull/destination/parse.js';
import { runPool } from '../pull/concurrency.js';
import { MAX_DOCUMENTS, MAX_INDEX_DEPTH } from '../pull/options.js';
import { InvalidCopySourceError } from './errors.js';
import { blobsOf, type StoredImage } from './image.js';
import type { CopySession } from './session.js';

export async function readLayoutSource(s: CopySession, src: PullDestination, platform: PlatformSpec | undefined, concurrency: number): Promise<StoredImage> {
  const shown = `${src.transport}:${src.path}${src.tag !== undefined ? `:${src.tag}` : ''}`;
  let tmp: string | undefined;
  try {
    let index: LayoutIndex;
    let blobPath: (digest: string) => string;
    if (src.transport === 'oci') {
      index = await readLayoutIndex(src.path);
      blobPath = (digest) => blobPathIn(src.path, digest);
    } else {
      tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'mote-copy-'));
      const extracted = await readOciArchive(src.path, tmp, { signal: s.signal });
      index = extracted.index;
      blobPath = (digest) => {
        const p = extracted.blobs.get(digest);
        if (p === undefined) throw new MoteNotFoundError(digest, `not in ${shown}`);
        return p;
      };
    }
    return await readImage(s, shown, pickEntry(index, src.tag, shown), blobPath, platform, concurrency);
  } finally {
    if (tmp) await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}

function pickEntry(index: LayoutIndex, tag: string | undefined, shown: string): Descriptor {
  const named = tag === undefined ? index.manifests : index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] === tag);
  if (named.length === 0) throw new InvalidCopySourceError(shown, tag === undefined ? 'index.json names no image' : `no image tagged ${JSON.stringify(tag)}`);
  const digests = new Set(named.map((m) => m.digest));
  if (digests.size > 1) throw new InvalidCopySourceError(shown, `${digests.size} different images${tag === undefined ? '; name one with :TAG' : ` tagged ${JSON.stringify(tag)}`}`);
  const { mediaType, digest, size } = named[0]!;
  return { mediaType, digest, size };
}

async function readImage(
  s: CopySession,
  shown: string,
  top: Descriptor,
  blobPath: (digest: string) => string,
  want: PlatformSpec | undefined,
  concurrency: number,
): Promise<StoredImage> {
  /** Into the store (verified) and held; a blob the store has is not read again. */
  const ingest = async (d: Descriptor, kind: 'index' | 'manifest' | 'config' | 'layer'): Promise<void> => {
    throwIfAborted(s.signal);
    s.emit({ type: 'start', digest: d.digest, mediaType: d.mediaType, kind, size: d.size, source: 'cache' });
    if (!s.lease.hold(d.digest)) {
      const handle = await fs.promises.open(blobPath(d.digest), READ_NOFOLLOW);
      await s.local.put(handle.createReadStream(), {
        digest: d.digest,
        size: d.size,
        mediaType: d.mediaType,
        ...(s.signal && { signal: s.signal }),
      });
      if (!s.lease.hold(d.digest)) throw new MoteNotFoundError(d.digest, 'removed from the store while copying');
    }
    s.emit({ type: 'done', digest: d.digest, mediaType: d.mediaType, kind, size: d.size, received: d.size, source: 'cache' });
  };
  const readDoc = async (d: Descriptor): Promise<ParsedDocument> => {
    if (d.size > MAX_MANIFEST_BYTES) throw new InvalidManifestError(`larger than ${MAX_MANIFEST_BYTES} bytes`, d.digest);
    await ingest(d, isIndexMediaType(d.mediaType) ? 'index' : 'manifest');
    return parseDocument(await fs.promises.readFile(s.pathOf(d.digest)), d.mediaType, d.digest);
  };
  const image: StoredImage = { top, entry: top, documents: new Map(), manifests: [], blobs: [], skipped: [], platform: undefined };
  let doc = await readDoc(top);
  if (doc.kind === 'index' && want) {
    for (let depth = 0; doc.kind === 'index'; depth++) {
      if (depth >= MAX_INDEX_DEPTH) throw new InvalidManifestError(`indexes nested deeper than ${MAX_INDEX_DEPTH}`, image.entry.digest);
      const pick = selectManifest(doc.manifests, want);
      doc = await readDoc(pick);
      image.entry = { mediaType: pick.mediaType, digest: pick.digest, size: pick.size, ...(pick.platform && { platform: pick.platform }) };
      if (pick.platform) image.platform = formatPlatform(pick.platform);
    }
  }
  await collect(image, image.entry, doc, 0, readDoc, shown);
  const { blobs, skipped } = blobsOf(image.manifests);
  let size = 0;
  for (const d of blobs) size += d.size;
  s.emit({ type: 'plan', blobs: blobs.length, size });
  await runPool(blobs, concurrency, (d) => ingest(d, image.manifests.some((m) => m.doc.config.digest === d.digest) ? 'config' : 'layer'));
  image.blobs = blobs;
  image.skipped = skipped;
  return image;
}

/** Parents before children in `documents` (as `pull` orders them), each distinct document once. */
async function collect(
  image: StoredImage,
  d: Descriptor,
  doc: ParsedDocument,
  depth: number,
  readDoc: (d: Descriptor) => Promise<ParsedDocument>,
  shown: string,
): Promise<void> {
  image.documents.set(d.digest, d);
  if (doc.kind === 'manifest') {
    image.manifests.push({ descriptor: d, doc });
  } else {
    if (depth >= MAX_INDEX_DEPTH) throw new InvalidManifestError(`indexes nested deeper than ${MAX_INDEX_DEPTH}`, d.digest);
    for (const child of doc.manifests) {
      if (image.documents.has(child.digest)) continue;
      if (image.documents.size >= MAX_DOCUMENTS) throw new InvalidCopySourceError(shown, `more than ${MAX_DOCUMENTS} manifests`);
      await collect(image, { ...child }, await readDoc(child), depth + 1, readDoc, shown);
    }
  }
}
