/**
 * Writes an image into an OCI image layout directory (`oci:` destinations). A new layout is built in a hidden
 * sibling directory and renamed into place, so it appears whole or not at all. An existing layout gets the blobs
 * it lacks (each through a temporary and a rename) and then, last, a new index.json (also renamed in): until that
 * rename the layout reads exactly as before, and if anything fails the blobs this call added are removed.
 *
 * An existing layout is not trusted. Every blob the image needs that is already there is kept only if it is the
 * right content: the very file the cache would link (same inode), or a regular file that hashes to its name;
 * anything else at that name (wrong bytes, a symbolic link, a FIFO...) is replaced by the right bytes, by a
 * rename over the name, which never opens what was there. The writer never reads or writes through a link inside
 * the layout: `oci-layout`, `index.json`, `blobs` and `blobs/<alg>` must be what the layout says they are
 * (regular files, real directories), else the layout is refused with InvalidDestinationError, touching nothing.
 * Repairing those in place would mean deciding what to do with the files behind the link (other images' blobs),
 * which is the user's call, not a pull's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ALGORITHMS, parseDigest, verifyFd } from '../../digest/index.js';
import { MoteError } from '../../errors.js';
import { isErrno } from '../../internal/errno.js';
import { throwIfAborted } from '../../internal/abort.js';
import { READ_NOFOLLOW, fsyncDir, fsyncPath, lstatQuiet, siblingTemp, writeFileAtomic } from '../../internal/fs.js';
import { withLock } from '../../internal/lockfile.js';
import {
  INDEX_FILE,
  MAX_INDEX_BYTES,
  OCI_LAYOUT_CONTENT,
  OCI_LAYOUT_FILE,
  checkOciLayoutFile,
  mergeLayoutIndex,
  parseLayoutIndex,
  serializeIndex,
  type LayoutIndex,
} from '../../oci/image-layout.js';
import { InvalidDestinationError, checkedAsDestination, destinationFailure } from '../errors.js';
import { blobPathIn, type BlobSource, type ImageToWrite } from './blob-source.js';
import { sweepLeftovers } from '../../internal/leftovers.js';
import { runPool } from '../concurrency.js';
import { PLACE_CONCURRENCY } from '../options.js';

export interface WriteOptions {
  tag?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** What is at an `oci:` destination now. */
export type LayoutState = 'absent' | 'empty' | 'layout';

type BlobDescriptor = ImageToWrite['blobs'][number];

/**
 * Checks an `oci:` destination before anything is fetched, so an unusable one fails fast: it must be missing, an
 * empty directory, or a directory holding an OCI layout (an `oci-layout` file).
 * @throws InvalidDestinationError
 */
export async function inspectLayoutDir(dir: string): Promise<LayoutState> {
  const st = await lstatQuiet(dir);
  if (!st) return 'absent';
  if (!st.isDirectory()) throw new InvalidDestinationError(dir, 'exists and is not a directory');
  const entries = await fs.promises.readdir(dir);
  if (entries.length === 0) return 'empty';
  if (!entries.includes(OCI_LAYOUT_FILE)) throw new InvalidDestinationError(dir, 'a non-empty directory that is not an OCI image layout (no oci-layout file)');
  await checkLayoutShape(dir);
  return 'layout';
}

/**
 * Refuses a layout whose own files and directories are not what they must be: `oci-layout` and `index.json`
 * regular files, `blobs` and `blobs/<alg>` (for every algorithm a blob could be written under) real directories.
 * A symbolic link there is refused rather than followed or replaced (see the module's comment).
 * @throws InvalidDestinationError
 */
async function checkLayoutShape(dir: string): Promise<void> {
  const check = async (rel: string, kind: 'file' | 'directory'): Promise<void> => {
    const st = await lstatQuiet(path.join(dir, rel));
    if (!st) return; // a missing index.json is reported when it is read; missing directories are created
    if (st.isSymbolicLink()) throw new InvalidDestinationError(dir, `${rel} is a symbolic link (never followed inside a layout)`);
    if (kind === 'file' ? !st.isFile() : !st.isDirectory()) throw new InvalidDestinationError(dir, `${rel} is not a ${kind === 'file' ? 'regular file' : 'directory'}`);
  };
  await check(OCI_LAYOUT_FILE, 'file');
  await check(INDEX_FILE, 'file');
  await check('blobs', 'directory');
  for (const algorithm of Object.keys(ALGORITHMS)) await check(`blobs/${algorithm}`, 'directory');
}

/** Reads one of the layout's small files, refusing a link or anything but a regular file. */
async function readLayoutFile(dir: string, name: string): Promise<Buffer | undefined> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(path.join(dir, name), READ_NOFOLLOW);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    if (isErrno(err, 'ELOOP')) throw new InvalidDestinationError(dir, `${name} is a symbolic link (never followed inside a layout)`);
    throw err;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new InvalidDestinationError(dir, `${name} is not a regular file`);
    if (st.size > MAX_INDEX_BYTES) throw new InvalidDestinationError(dir, `${name} is larger than ${MAX_INDEX_BYTES} bytes`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Reads and validates an existing layout's `oci-layout` and `index.json` (never through a link).
 * @throws InvalidDestinationError
 */
export async function readLayoutIndex(dir: string): Promise<LayoutIndex> {
  const layoutFile = await readLayoutFile(dir, OCI_LAYOUT_FILE);
  if (!layoutFile) throw new InvalidDestinationError(dir, 'the layout has no oci-layout file');
  checkedAsDestination(() => checkOciLayoutFile(layoutFile, dir));
  const bytes = await readLayoutFile(dir, INDEX_FILE);
  if (!bytes) throw new InvalidDestinationError(dir, 'the layout has no index.json');
  return checkedAsDestination(() => parseLayoutIndex(bytes, dir));
}

/**
 * Makes `<root>/<rel>` a real directory (creating it if missing), refusing a link or anything else there. True
 * if it created it.
 * @throws InvalidDestinationError
 */
async function ensureRealDir(root: string, rel: string): Promise<boolean> {
  const p = path.join(root, rel);
  try {
    await fs.promises.mkdir(p);
    return true;
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
  }
  const st = await fs.promises.lstat(p);
  if (st.isSymbolicLink()) throw new InvalidDestinationError(root, `${rel} is a symbolic link (never followed inside a layout)`);
  if (!st.isDirectory()) throw new InvalidDestinationError(root, `${rel} is not a directory`);
  return false;
}

/** Copies one blob into a layout through a temporary in the same directory, then renames it into place. */
async function placeBlob(root: string, d: BlobDescriptor, source: BlobSource, signal: AbortSignal | undefined): Promise<void> {
  const target = blobPathIn(root, d.digest);
  const temp = siblingTemp(target);
  try {
    await source.copyTo(d, temp, signal);
    await fsyncPath(temp);
    // rename(2) replaces the name: whatever was there (wrong bytes, a link) is never opened or written through.
    await fs.promises.rename(temp, target);
  } catch (err) {
    await fs.promises.rm(temp, { force: true }).catch(() => {});
    throw err;
  }
}

/**
 * Whether the blob at `p` (lstat `st`) is one to keep: a regular file of the right size that is the very file
 * `source` would place (same inode), or that hashes to the blob's digest (read without following a link).
 */
async function holdsBlob(p: string, st: fs.Stats, d: BlobDescriptor, source: BlobSource, signal: AbortSignal | undefined): Promise<boolean> {
  if (!st.isFile() || st.size !== d.size) return false;
  if (await source.sameFile?.(d, st)) return true;
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(p, READ_NOFOLLOW);
  } catch (err) {
    if (isErrno(err, 'ELOOP', 'ENOENT')) return false; // replaced meanwhile: placed again
    throw err;
  }
  try {
    const opened = await handle.stat();
    if (!opened.isFile() || opened.ino !== st.ino || opened.dev !== st.dev) return false;
    await verifyFd(handle.fd, { digest: d.digest, size: d.size }, { signal });
    return true;
  } catch (err) {
    if (err instanceof MoteError && (err.code === 'ERR_MOTE_DIGEST_MISMATCH' || err.code === 'ERR_MOTE_SIZE_MISMATCH')) return false;
    throw err;
  } finally {
    await handle.close();
  }
}

async function fsyncBlobDirs(root: string, image: ImageToWrite): Promise<void> {
  const dirs = new Set(image.blobs.map((b) => path.dirname(blobPathIn(root, b.digest))));
  for (const dir of dirs) await fsyncDir(dir);
}

/** The `blobs/<alg>` directories the image's blobs go to. */
function algorithmDirs(image: ImageToWrite): string[] {
  return [...new Set(image.blobs.map((b) => `blobs/${parseDigest(b.digest).algorithm}`))].sort();
}

/** Builds a complete layout in a temporary sibling of `dir` and renames it over `dir` (missing or empty). */
async function writeNewLayout(dir: string, image: ImageToWrite, source: BlobSource, options: WriteOptions): Promise<void> {
  const temp = siblingTemp(dir);
  await fs.promises.mkdir(temp);
  try {
    await fs.promises.writeFile(path.join(temp, OCI_LAYOUT_FILE), OCI_LAYOUT_CONTENT);
    await ensureRealDir(temp, 'blobs');
    for (const rel of algorithmDirs(image)) await ensureRealDir(temp, rel);
    await runPool(image.blobs, PLACE_CONCURRENCY, (blob) => {
      throwIfAborted(options.signal);
      return placeBlob(temp, blob, source, options.signal);
    });
    await fsyncBlobDirs(temp, image);
    await writeFileAtomic(path.join(temp, INDEX_FILE), serializeIndex(mergeLayoutIndex(undefined, image.entry, options.tag)));
    await fsyncPath(path.join(temp, OCI_LAYOUT_FILE));
    throwIfAborted(options.signal);
    // rename(2) replaces an empty directory; a non-empty one (created meanwhile by someone else) fails with
    // ENOTEMPTY/EEXIST and is left alone.
    try {
      await fs.promises.rename(temp, dir);
    } catch (err) {
      if (isErrno(err, 'ENOTEMPTY', 'EEXIST')) throw new InvalidDestinationError(dir, 'was created by someone else while pulling');
      throw err;
    }
  } catch (err) {
    await fs.promises.rm(temp, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
  await fsyncDir(path.dirname(dir));
}

/**
 * Adds the image to an existing layout (whose shape {@link inspectLayoutDir} checked): leftovers of dead writers
 * removed, missing or wrong blobs placed, index.json last; added blobs removed on failure.
 */
async function updateLayout(dir: string, image: ImageToWrite, source: BlobSource, options: WriteOptions): Promise<void> {
  const { signal } = options;
  // The shape was checked by inspectLayoutDir, under the same lock. Everything that can refuse the layout is
  // checked before anything is written: a refused layout is left exactly as it was.
  const index = await readLayoutIndex(dir);
  for (const blob of image.blobs) {
    const st = await lstatQuiet(blobPathIn(dir, blob.digest));
    if (st?.isDirectory()) throw new InvalidDestinationError(dir, `blob ${blob.digest} is a directory`);
  }
  await sweepLeftovers(dir, (target) => target === INDEX_FILE);
  // What this call adds (blobs, then the directories it had to create), removed again if it fails.
  const added: string[] = [];
  const createdDirs: string[] = [];
  try {
    for (const rel of ['blobs', ...algorithmDirs(image)]) {
      if (await ensureRealDir(dir, rel)) createdDirs.unshift(path.join(dir, rel));
      else if (rel !== 'blobs') await sweepLeftovers(path.join(dir, rel), () => true);
    }
    await runPool(image.blobs, PLACE_CONCURRENCY, async (blob) => {
      throwIfAborted(signal);
      const p = blobPathIn(dir, blob.digest);
      const st = await lstatQuiet(p);
      if (st && (await holdsBlob(p, st, blob, source, signal))) return;
      await placeBlob(dir, blob, source, signal);
      // A wrong copy that was replaced is not ours to remove again on failure: the new one is right anyway.
      if (!st) added.push(p);
    });
    await fsyncBlobDirs(dir, image);
    throwIfAborted(signal);
    await writeFileAtomic(path.join(dir, INDEX_FILE), serializeIndex(mergeLayoutIndex(index, image.entry, options.tag)));
  } catch (err) {
    for (const p of added) await fs.promises.rm(p, { force: true }).catch(() => {});
    for (const d of createdDirs) await fs.promises.rmdir(d).catch(() => {});
    throw err;
  }
}

/**
 * Adds `image` to the OCI layout at `dir` under `options.tag` (creating the layout if `dir` is missing or empty),
 * holding the destination's lock, after removing the leftovers of writers that died (see leftovers.ts). On
 * failure the layout reads as before and no temporary is left; the error is typed: AbortError when
 * `options.signal` fired, NoSpaceError for a full disk, InvalidDestinationError for an unusable destination.
 * @throws InvalidDestinationError when `dir` is something else, or a layout with a link or a special file where
 *   a regular file or a directory belongs.
 */
export async function writeOciLayout(dir: string, image: ImageToWrite, source: BlobSource, options: WriteOptions = {}): Promise<void> {
  const { signal } = options;
  try {
    await fs.promises.mkdir(path.dirname(dir), { recursive: true });
    await withLock(dir, `${dir}.lock`, signal, async () => {
      const name = path.basename(dir);
      await sweepLeftovers(path.dirname(dir), (target) => target === name);
      const state = await inspectLayoutDir(dir);
      if (state === 'layout') await updateLayout(dir, image, source, options);
      else await writeNewLayout(dir, image, source, options);
    });
  } catch (err) {
    throw destinationFailure(err, dir, signal);
  }
}
