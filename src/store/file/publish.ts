import fs from 'node:fs';
import path from 'node:path';
import type { StoreContext } from './context.js';
import { fsyncDirSync, unlinkQuiet } from '../../internal/fs.js';

/**
 * Publishes a verified, already fsynced (when durable) temporary at the blob path of `digest`.
 *
 * The order matters: data fsync (by the caller) -> rename -> directory fsync. rename() is atomic, so the blob
 * path shows either nothing or the whole verified file, even if the process is killed in between. If the blob
 * exists already (another writer won the race) the temporary is dropped: the content is identical by
 * construction, so there is nothing to replace. The loser of a check-then-rename race replaces the winner's file
 * with identical verified bytes, which no reader can tell apart (open readers keep their own inode).
 */
export function publishSync(ctx: StoreContext, temp: string, digest: string): 'published' | 'existed' {
  const final = ctx.paths.blobPath(digest);
  if (fs.existsSync(final)) {
    unlinkQuiet(temp);
    // The winner may have renamed but not yet synced the directory: make "durable" true for us too.
    if (ctx.durable) fsyncDirSync(path.dirname(final));
    return 'existed';
  }
  fs.renameSync(temp, final);
  if (ctx.durable) fsyncDirSync(path.dirname(final));
  return 'published';
}
