/**
 * The parts of an OCI image layout shared by the directory and archive writers: `oci-layout`, `index.json`
 * (parsed, validated, and merged with a new entry), blob paths, and where blob bytes come from.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseDigest } from '../digest/index.js';
import { isErrno, SizeMismatchError } from '../errors.js';
import type { FileMoteCache } from '../store/file-cache.js';
import { MediaType, type Descriptor } from '../registry/types.js';
import { InvalidDestinationError } from './errors.js';
import { validateDescriptor } from './manifest.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_LAYOUT_CONTENT = '{"imageLayoutVersion":"1.0.0"}';
/** `index.json` is read whole; an index this large is not a layout anyone wrote by hand or by tool. */
export const MAX_INDEX_BYTES = 16 * 1024 * 1024;

/** `index.json`: an OCI index. Fields other than `manifests` are kept as they were. */
export interface LayoutIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  [field: string]: unknown;
}

/** An image to add to a layout: what index.json will point at, and every blob it needs (distinct). */
export interface ImageToWrite {
  entry: Descriptor;
  blobs: Descriptor[];
}

/** `blobs/<alg>/<encoded>` relative to a layout root (POSIX separators, for archives too). */
export function blobRelPath(digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return `blobs/${algorithm}/${encoded}`;
}

export function blobPathIn(root: string, digest: string): string {
  return path.join(root, ...blobRelPath(digest).split('/'));
}

/** Checks an `oci-layout` file's content. */
export function checkOciLayoutFile(bytes: Uint8Array, where: string): void {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new InvalidDestinationError(where, 'oci-layout is not JSON');
  }
  const version = (doc as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
    throw new InvalidDestinationError(where, `unsupported imageLayoutVersion ${JSON.stringify(version)}`);
  }
}

/** Parses and validates an `index.json` (each entry a valid descriptor). */
export function parseLayoutIndex(bytes: Uint8Array, where: string): LayoutIndex {
  if (bytes.byteLength > MAX_INDEX_BYTES) throw new InvalidDestinationError(where, 'index.json is too large');
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new InvalidDestinationError(where, 'index.json is not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InvalidDestinationError(where, 'index.json is not an object');
  const o = doc as Record<string, unknown>;
  if (o.schemaVersion !== 2) throw new InvalidDestinationError(where, 'index.json: schemaVersion is not 2');
  const manifests = o.manifests === undefined || o.manifests === null ? [] : o.manifests;
  if (!Array.isArray(manifests)) throw new InvalidDestinationError(where, 'index.json: manifests is not an array');
  try {
    // Kept verbatim (not the validated copy) so that fields this code does not know survive the rewrite.
    manifests.forEach((m, i) => validateDescriptor(m, `index.json manifests[${i}]`));
  } catch (err) {
    throw new InvalidDestinationError(where, (err as Error).message);
  }
  return { ...o, schemaVersion: 2, manifests: manifests as Descriptor[] };
}

/** A fresh, empty `index.json`. */
export function emptyLayoutIndex(): LayoutIndex {
  return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] };
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

/** Where blob bytes come from when a destination is written. */
export interface BlobSource {
  /** Puts the blob's bytes in `target`, a path that does not exist yet. */
  copyTo(descriptor: Descriptor, target: string, signal?: AbortSignal): Promise<void>;
  /** The blob's bytes as a stream. */
  open(descriptor: Descriptor): Promise<Readable>;
}

/**
 * How blobs go from the cache into the destination layout.
 * - `'link'` (default): a hard link when the destination is on the cache's filesystem, else a copy. The blob's
 *   bytes are then on disk once and a warm pull writes no data at all. Blobs are read-only files (0444) that
 *   nothing in motecache writes in place; the cache's prune skips a mote whose inode has other links (removing its
 *   name would free nothing while the layout keeps the bytes), so a linked blob stays in the cache as long as a
 *   layout uses it, like pnpm's store. A tool that rewrote a layout blob in place (ignoring its mode) would change
 *   the cache's copy too: `verify` finds and evicts such a mote. Choose `'copy'` for fully independent files.
 * - `'copy'`: always a copy (a reflink where the filesystem can).
 */
export type BlobPlacement = 'link' | 'copy';

/** Errors of link(2) that mean "not here", so a copy is made instead. */
const LINK_UNAVAILABLE = ['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP', 'EACCES'] as const;

/**
 * Blobs from a mote store, placed as {@link BlobPlacement} says. A mote pruned between the fetch and the
 * placement is read through the cache again (its fallback refetches it).
 */
export function cacheBlobSource(cache: FileMoteCache, placement: BlobPlacement = 'link'): BlobSource {
  return {
    async copyTo(d, target, signal) {
      const from = cache.moteRef(d.digest);
      let placed = false;
      if (placement === 'link') {
        try {
          await fs.promises.link(from, target);
          placed = true;
        } catch (err) {
          if (!isErrno(err, 'ENOENT', ...LINK_UNAVAILABLE)) throw err;
        }
      }
      if (!placed) {
        try {
          await fs.promises.copyFile(from, target, fs.constants.COPYFILE_FICLONE | fs.constants.COPYFILE_EXCL);
        } catch (err) {
          if (!isErrno(err, 'ENOENT') || !fs.existsSync(path.dirname(target))) throw err;
          await pipeline(await cache.moteReader(d.digest), fs.createWriteStream(target, { flags: 'wx', mode: 0o644 }), signal ? { signal } : {});
        }
      }
      // Motes are verified on the way in; this catches a manifest whose size disagrees with its digest's content.
      const size = (await fs.promises.stat(target)).size;
      if (size !== d.size) throw new SizeMismatchError(d.digest, d.size, size);
    },
    async open(d) {
      return cache.moteReader(d.digest);
    },
  };
}

/** Blobs already on disk at known paths (e.g. those of an archive being rewritten), by digest. */
export function fileBlobSource(paths: ReadonlyMap<string, string>): BlobSource {
  const where = (d: Descriptor): string => {
    const p = paths.get(d.digest);
    if (p === undefined) throw new Error(`internal: no file for blob ${d.digest}`);
    return p;
  };
  return {
    async copyTo(d, target) {
      await fs.promises.copyFile(where(d), target, fs.constants.COPYFILE_FICLONE | fs.constants.COPYFILE_EXCL);
    },
    async open(d) {
      return fs.createReadStream(where(d));
    },
  };
}
