import fs from 'node:fs';
import path from 'node:path';
import type { StoreContext } from './context.js';
import { fsyncDirSync, unlinkQuiet } from '../../internal/fs.js';
import { clearBlobPath } from './blob-file.js';

/**
 * Publishes a verified, already fsynced (when durable) temporary of `size` bytes at the blob path of `digest`.
 *
 * The order matters: data fsync (by the caller) -> rename -> directory fsync. rename() is atomic, so the blob
 * path shows either nothing or the whole verified file, even if the process is killed in between.
 *
 * If a regular file of the same size is there already (another writer won the race) the temporary is dropped: the
 * content is identical by construction, and keeping that inode keeps it shared with the layouts that hard-link it
 * (a pull's `'link'` placement). Anything else at the blob path is replaced by our verified bytes: a symlink, a
 * FIFO or a file of another size by the rename itself (atomic), a directory (which rename cannot replace) after
 * moving it aside. The temporary is verified already, so replacing costs a rename, not a hash. (Same-size bit rot
 * is left to `verify` and `verifyOnRead`: finding it here would mean re-hashing the existing blob on every dedup.)
 * The loser of a check-then-rename race replaces the winner's file with identical verified bytes, which no reader
 * can tell apart (open readers keep their own inode).
 *
 * `syncDir: false` leaves the directory fsync to a caller that does it asynchronously (a download, which must not
 * stall the other downloads of its process on the main thread); the blob is not durable until it has.
 */
export function publishSync(ctx: StoreContext, temp: string, digest: string, size: number, syncDir = ctx.durable): 'published' | 'existed' {
  const final = ctx.paths.blobPath(digest);
  const existing = fs.lstatSync(final, { throwIfNoEntry: false });
  if (existing?.isFile() && existing.size === size) {
    unlinkQuiet(temp);
    // The winner may have renamed but not yet synced the directory: make "durable" true for us too.
    if (syncDir) fsyncDirSync(path.dirname(final));
    return 'existed';
  }
  if (existing?.isDirectory()) clearBlobPath(ctx, final);
  fs.renameSync(temp, final);
  if (syncDir) fsyncDirSync(path.dirname(final));
  return 'published';
}
