/**
 * What the directory and archive writers share: the image to write, and where its blob bytes come from.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SizeMismatchError } from '../../errors.js';
import { isErrno } from '../../internal/errno.js';
import { READ_NOFOLLOW } from '../../internal/fs.js';
import type { MoteProvider } from '../../store/roles.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { blobRelPath } from '../../oci/image-layout.js';

/** An image to add to a layout: what index.json will point at, and every blob it needs (distinct). */
export interface ImageToWrite {
  entry: Descriptor;
  blobs: Descriptor[];
}

export function blobPathIn(root: string, digest: string): string {
  return path.join(root, ...blobRelPath(digest).split('/'));
}

/** Where blob bytes come from when a destination is written. */
export interface BlobSource {
  /** Puts the blob's bytes in `target`, a path that does not exist yet. */
  copyTo(descriptor: Descriptor, target: string, signal?: AbortSignal): Promise<void>;
  /** The blob's bytes as a stream. */
  open(descriptor: Descriptor): Promise<Readable>;
  /**
   * Whether `existing` (the lstat of a file already in a destination) is the very file {@link copyTo} would put
   * there (a hard link to the same inode), so that keeping it is the same as placing it again. Optional.
   */
  sameFile?(descriptor: Descriptor, existing: fs.Stats): Promise<boolean>;
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
 * Blobs from a mote store, placed as {@link BlobPlacement} says: from `heldPath(digest)` when the caller holds the
 * mote (a lease's link: it stays whatever a prune or a removal does meanwhile), else from the blob path. A mote gone
 * from both is read through the cache again (a pull-through cache fetches it again).
 */
export function cacheBlobSource(cache: MoteProvider, placement: BlobPlacement = 'link', heldPath?: (digest: string) => string | undefined): BlobSource {
  return {
    async copyTo(d, target, signal) {
      const from = heldPath?.(d.digest) ?? cache.moteRef(d.digest);
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
    async sameFile(d, existing) {
      try {
        const st = await fs.promises.stat(cache.moteRef(d.digest));
        return st.ino === existing.ino && st.dev === existing.dev;
      } catch {
        return false;
      }
    },
  };
}

/**
 * Blobs already on disk at known paths (e.g. those of an archive being rewritten, extracted and verified), by
 * digest. They are read without following a link.
 */
export function fileBlobSource(paths: ReadonlyMap<string, string>): BlobSource {
  const where = (d: Descriptor): string => {
    const p = paths.get(d.digest);
    if (p === undefined) throw new Error(`internal: no file for blob ${d.digest}`);
    return p;
  };
  const open = async (d: Descriptor): Promise<Readable> => (await fs.promises.open(where(d), READ_NOFOLLOW)).createReadStream();
  return {
    async copyTo(d, target) {
      const from = where(d);
      if (!(await fs.promises.lstat(from)).isFile()) throw new Error(`internal: blob ${d.digest} at ${from} is not a regular file`);
      await fs.promises.copyFile(from, target, fs.constants.COPYFILE_FICLONE | fs.constants.COPYFILE_EXCL);
    },
    open,
  };
}
