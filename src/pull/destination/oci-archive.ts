/**
 * `oci-archive:` destinations: a tar of an OCI image layout. Reading an existing archive extracts what a layout is
 * made of (`oci-layout`, `index.json`, `blobs/<alg>/<encoded>`, each blob verified against its name) and keeps
 * every other entry (its header, and a regular file's bytes) to be written back verbatim, into a private
 * directory, refusing any entry that could reach outside it; writing packs a new archive into a temporary next to
 * the target and renames it into place. Whatever ends a write early (an abort, a full disk, a bad entry) ends it
 * through one path: the archive is as it was, the temporaries are removed, the error is typed. `tar-stream` is
 * loaded only here, on use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isErrno } from '../../internal/errno.js';
import { throwIfAborted } from '../../internal/abort.js';
import { READ_NOFOLLOW, fsyncDir, lstatQuiet, siblingTemp } from '../../internal/fs.js';
import { withLock } from '../../internal/lockfile.js';
import { mergeLayoutIndex } from '../../oci/image-layout.js';
import { InvalidDestinationError, destinationFailure } from '../errors.js';
import { fileBlobSource, type BlobSource, type ImageToWrite } from './blob-source.js';
import { sweepLeftovers } from '../../internal/leftovers.js';
import type { WriteOptions } from './oci-dir.js';
import { looksLikeTar, readOciArchive, type ExtractedArchive } from './archive-read.js';
import { archiveEntries, packArchive } from './archive-pack.js';

export { readOciArchive, safeEntryPath, type ExtractedArchive, type ArchiveExtra, type TarHeader } from './archive-read.js';

/**
 * Checks an `oci-archive:` destination before anything is fetched: missing, empty, or a regular file (not a link)
 * that starts like a tar archive (a compressed or unrelated file fails now, not after the download).
 * @throws InvalidDestinationError
 */
export async function inspectArchive(file: string): Promise<'absent' | 'empty' | 'archive'> {
  const st = await lstatQuiet(file);
  if (!st) return 'absent';
  if (!st.isFile()) throw new InvalidDestinationError(file, 'exists and is not a regular file');
  if (st.size === 0) return 'empty';
  const head = Buffer.alloc(512);
  let got: number;
  try {
    const handle = await fs.promises.open(file, READ_NOFOLLOW);
    try {
      ({ bytesRead: got } = await handle.read(head, 0, 512, 0));
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (isErrno(err, 'ELOOP')) throw new InvalidDestinationError(file, 'is a symbolic link');
    if (isErrno(err, 'ENOENT')) return 'absent';
    throw err;
  }
  if (got < 512) throw new InvalidDestinationError(file, `not a tar archive (${got} bytes: truncated)`);
  if (!looksLikeTar(head)) {
    const gzip = head[0] === 0x1f && head[1] === 0x8b;
    throw new InvalidDestinationError(file, `not a tar archive${gzip ? ' (gzip-compressed: oci-archive destinations are plain tar)' : ''}`);
  }
  return 'archive';
}

/**
 * Adds `image` to the archive at `file` under `options.tag`: a missing or empty file gets a new archive; an
 * existing one is read safely (see {@link readOciArchive}) and rewritten with every blob, index entry and other
 * entry it had, plus the image (an entry with the same tag replaced). The new archive is renamed over the old one
 * only when complete. On any failure `file` is as it was, no temporary is left, and the error is typed: AbortError
 * when `options.signal` fired, NoSpaceError for a full disk, InvalidDestinationError for a file that is no
 * (readable) OCI archive, UnsafeArchiveError for a hostile one. Leftovers of writers that died are removed first.
 */
export async function writeOciArchive(file: string, image: ImageToWrite, source: BlobSource, options: WriteOptions = {}): Promise<void> {
  const { signal } = options;
  try {
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await withLock(file, `${file}.lock`, signal, async () => {
      const name = path.basename(file);
      await sweepLeftovers(path.dirname(file), (target) => target === name);
      const state = await inspectArchive(file);
      const temp = siblingTemp(file);
      let extractDir: string | undefined;
      try {
        let previous: ExtractedArchive | undefined;
        if (state === 'archive') {
          extractDir = siblingTemp(file, 'mote-extract');
          await fs.promises.mkdir(extractDir, { mode: 0o700 });
          previous = await readOciArchive(file, extractDir, { signal });
        }
        const index = mergeLayoutIndex(previous?.index, image.entry, options.tag);
        const blobs: Array<{ digest: string; size: number; source: BlobSource }> = [];
        const fresh = new Set(image.blobs.map((b) => b.digest));
        if (previous) {
          const old = fileBlobSource(previous.blobs);
          for (const [digest, p] of previous.blobs) {
            if (!fresh.has(digest)) blobs.push({ digest, size: (await fs.promises.lstat(p)).size, source: old });
          }
        }
        for (const blob of image.blobs) blobs.push({ digest: blob.digest, size: blob.size, source });
        await packArchive(temp, archiveEntries(index, blobs, previous?.extras ?? []), signal);
        throwIfAborted(signal);
        await fs.promises.rename(temp, file);
      } catch (err) {
        await fs.promises.rm(temp, { force: true }).catch(() => {});
        throw err;
      } finally {
        if (extractDir) await fs.promises.rm(extractDir, { recursive: true, force: true }).catch(() => {});
      }
      await fsyncDir(path.dirname(file));
    });
  } catch (err) {
    throw destinationFailure(err, file, signal);
  }
}
