/**
 * `commitMote`: adding an existing file. Its content is verified before it is published. `copy` keeps the source;
 * `move` renames it in (same filesystem) or copies then removes it (EXDEV), in both cases publishing atomically,
 * and gives it back untouched if verification fails.
 */
import fs from 'node:fs';
import { verifyFile } from '../../digest/hash-file.js';
import { parseDigest } from '../../digest/index.js';
import { InvalidArgumentError } from '../../errors.js';
import { isErrno } from '../../internal/errno.js';
import { fsyncPathSync, lstatQuietSync, unlinkBestEffort, unlinkQuiet } from '../../internal/fs.js';
import { DEFAULT_MEDIA_TYPE } from '../../oci/media-types.js';
import { CommitMode, type MoteInfo } from '../types.js';
import { checkMediaType, checkSize } from './check.js';
import type { StoreContext } from './context.js';
import { asStoreError } from './errors.js';
import { publishSync } from './publish.js';

/** The checks of `commitMote`'s arguments, which the store runs before it touches the disk (even to create its layout). */
export function checkCommitArguments(mote: MoteInfo, mode: CommitMode): void {
  parseDigest(mote?.digest);
  checkSize(mote.size);
  if (mote.mediaType !== undefined) checkMediaType('commitMote', mote.mediaType);
  if (mode !== CommitMode.Copy && mode !== CommitMode.Move) {
    throw new InvalidArgumentError(`commitMote: mode must be 'copy' or 'move', got ${String(mode)}`);
  }
}

export async function commitMote(ctx: StoreContext, sourcePath: string, mote: MoteInfo, mode: CommitMode): Promise<void> {
  checkCommitArguments(mote, mode);
  const { root } = ctx.paths;
  const expected = { digest: mote.digest, size: mote.size };
  const mediaType = mote.mediaType || DEFAULT_MEDIA_TYPE;
  const blobPath = ctx.paths.blobPath(mote.digest);
  let source: fs.Stats;
  try {
    source = fs.lstatSync(sourcePath);
  } catch (err) {
    throw asStoreError(err, root);
  }
  const existing = lstatQuietSync(blobPath);
  // The caller handed us the blob path itself (e.g. `moteRef(d)`).
  const sourceIsBlob = existing !== undefined && existing.ino === source.ino && existing.dev === source.dev;
  // Stored already: a regular file of the right size. Anything else there (a symlink, a directory, a file of
  // another size) is not the mote, and the verified copy below replaces it.
  const stored = existing !== undefined && existing.isFile() && (mote.size < 0 || existing.size === mote.size);
  if (sourceIsBlob && stored) {
    // Nothing to add, and nothing to remove.
    ctx.recordWrite(mote.digest, mediaType);
    return;
  }
  if (stored) {
    // Already here: nothing to publish. Still check the source, so a wrong file is reported, not swallowed.
    await verifyFile(sourcePath, expected);
    ctx.recordWrite(mote.digest, mediaType); // first: a concurrent prune then sees the mote as just used
    if (mode === CommitMode.Move) unlinkQuiet(sourcePath);
    return;
  }
  const temp = ctx.paths.tempPath('ingest');
  let movedIn = false; // the source itself now sits at `temp`
  try {
    // Only a plain file that nothing else links to may be taken over by rename. A symlink would publish a link
    // to the caller's file, and a hard-linked inode could be changed through its other name after we verified
    // it: those are copied instead (copyFile follows the link), and the source name is removed afterwards.
    if (mode === CommitMode.Move && source.isFile() && source.nlink === 1) {
      try {
        fs.renameSync(sourcePath, temp);
        movedIn = true;
      } catch (err) {
        if (!isErrno(err, 'EXDEV')) throw err;
      }
    }
    // Copy (or a move across filesystems): into the temporary first, never into the blob path.
    if (!movedIn) await fs.promises.copyFile(sourcePath, temp, fs.constants.COPYFILE_FICLONE);
    // Verify the temporary, not the source: the source could change between a check and a copy.
    await verifyFile(temp, expected);
    fs.chmodSync(temp, 0o444);
    if (ctx.durable) fsyncPathSync(temp);
    publishSync(ctx, temp, mote.digest, fs.statSync(temp).size);
  } catch (err) {
    if (movedIn) {
      try {
        fs.renameSync(temp, sourcePath); // give the caller's file back
      } catch {
        unlinkBestEffort(temp);
      }
    } else {
      unlinkBestEffort(temp);
    }
    throw asStoreError(err, root);
  }
  // (A source that was the blob path itself, holding no regular file, has just been replaced: not ours to remove.)
  if (mode === CommitMode.Move && !movedIn && !sourceIsBlob) unlinkQuiet(sourcePath);
  ctx.recordWrite(mote.digest, mediaType);
}
