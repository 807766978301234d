/**
 * Writes an image into an OCI image layout directory (`oci:` destinations). A new layout is built in a hidden
 * sibling directory and renamed into place, so it appears whole or not at all. An existing layout gets the
 * missing blobs (each through a temporary and a rename) and then, last, a new index.json (also renamed in): until
 * that rename the layout reads exactly as before, and if anything fails the blobs this call added are removed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isErrno } from '../../internal/errno.js';
import { throwIfAborted } from '../../internal/abort.js';
import { fsyncDir, fsyncPath, lstatQuiet, siblingTemp, writeFileAtomic } from '../../internal/fs.js';
import { withLock } from '../../internal/lockfile.js';
import {
  OCI_LAYOUT_CONTENT,
  OCI_LAYOUT_FILE,
  checkOciLayoutFile,
  mergeLayoutIndex,
  parseLayoutIndex,
  serializeIndex,
  type LayoutIndex,
} from '../../oci/image-layout.js';
import { InvalidDestinationError, checkedAsDestination } from '../errors.js';
import {
  blobPathIn,
  type BlobSource,
  type ImageToWrite,
} from './blob-source.js';

export interface WriteOptions {
  tag?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** What is at an `oci:` destination now. */
export type LayoutState = 'absent' | 'empty' | 'layout';

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
  return 'layout';
}

/** Reads and validates an existing layout's `oci-layout` and `index.json`. */
export async function readLayoutIndex(dir: string): Promise<LayoutIndex> {
  const layoutFile = await fs.promises.readFile(path.join(dir, OCI_LAYOUT_FILE));
  checkedAsDestination(() => checkOciLayoutFile(layoutFile, dir));
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(path.join(dir, 'index.json'));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new InvalidDestinationError(dir, 'the layout has no index.json');
    throw err;
  }
  return checkedAsDestination(() => parseLayoutIndex(bytes, dir));
}

/** Copies one blob into a layout through a temporary in the same directory, then renames it into place. */
async function placeBlob(root: string, d: ImageToWrite['blobs'][number], source: BlobSource, signal: AbortSignal | undefined): Promise<void> {
  const target = blobPathIn(root, d.digest);
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const temp = siblingTemp(target);
  try {
    await source.copyTo(d, temp, signal);
    await fsyncPath(temp);
    await fs.promises.rename(temp, target);
  } catch (err) {
    await fs.promises.rm(temp, { force: true });
    throw err;
  }
}

/** Whether `root` already holds a plausible copy of the blob (a regular file of the right size). */
async function hasBlob(root: string, d: ImageToWrite['blobs'][number]): Promise<boolean> {
  const st = await lstatQuiet(blobPathIn(root, d.digest));
  return st !== undefined && st.isFile() && st.size === d.size;
}

async function fsyncBlobDirs(root: string, image: ImageToWrite): Promise<void> {
  const dirs = new Set(image.blobs.map((b) => path.dirname(blobPathIn(root, b.digest))));
  for (const dir of dirs) await fsyncDir(dir);
}

/** Builds a complete layout in a temporary sibling of `dir` and renames it over `dir` (missing or empty). */
async function writeNewLayout(dir: string, image: ImageToWrite, source: BlobSource, options: WriteOptions): Promise<void> {
  await fs.promises.mkdir(path.dirname(dir), { recursive: true });
  const temp = siblingTemp(dir);
  await fs.promises.mkdir(temp);
  try {
    await fs.promises.writeFile(path.join(temp, OCI_LAYOUT_FILE), OCI_LAYOUT_CONTENT);
    for (const blob of image.blobs) {
      throwIfAborted(options.signal);
      await placeBlob(temp, blob, source, options.signal);
    }
    await fsyncBlobDirs(temp, image);
    await writeFileAtomic(path.join(temp, 'index.json'), serializeIndex(mergeLayoutIndex(undefined, image.entry, options.tag)));
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
    await fs.promises.rm(temp, { recursive: true, force: true });
    throw err;
  }
  await fsyncDir(path.dirname(dir));
}

/** Adds the image to an existing layout: missing blobs first, index.json last; added blobs removed on failure. */
async function updateLayout(dir: string, image: ImageToWrite, source: BlobSource, options: WriteOptions): Promise<void> {
  const index = await readLayoutIndex(dir);
  const added: string[] = [];
  try {
    for (const blob of image.blobs) {
      throwIfAborted(options.signal);
      if (await hasBlob(dir, blob)) continue;
      const existed = (await lstatQuiet(blobPathIn(dir, blob.digest))) !== undefined;
      await placeBlob(dir, blob, source, options.signal);
      // A damaged copy that was replaced is not ours to remove again on failure: the new one is correct anyway.
      if (!existed) added.push(blobPathIn(dir, blob.digest));
    }
    await fsyncBlobDirs(dir, image);
    throwIfAborted(options.signal);
    await writeFileAtomic(path.join(dir, 'index.json'), serializeIndex(mergeLayoutIndex(index, image.entry, options.tag)));
  } catch (err) {
    for (const p of added) await fs.promises.rm(p, { force: true }).catch(() => {});
    throw err;
  }
}

/**
 * Adds `image` to the OCI layout at `dir` under `options.tag` (creating the layout if `dir` is missing or empty),
 * holding the destination's lock.
 * @throws InvalidDestinationError when `dir` is something else.
 */
export async function writeOciLayout(dir: string, image: ImageToWrite, source: BlobSource, options: WriteOptions = {}): Promise<void> {
  await fs.promises.mkdir(path.dirname(dir), { recursive: true });
  await withLock(dir, `${dir}.lock`, options.signal, async () => {
    const state = await inspectLayoutDir(dir);
    if (state === 'layout') await updateLayout(dir, image, source, options);
    else await writeNewLayout(dir, image, source, options);
  });
}
