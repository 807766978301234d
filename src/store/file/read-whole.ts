import fs from 'node:fs';
import { verifyBytes } from '../../digest/verifier.js';
import type { StoreContext } from './context.js';
import { evictQuietly, openBlobSync } from './blob-file.js';

/** `get` reads motes up to this size synchronously in one go; larger ones are streamed. */
export const SYNC_READ_LIMIT = 8 << 20;

/**
 * A small local mote as a Buffer, read synchronously in one go: `undefined` when it is not here or is larger than
 * {@link SYNC_READ_LIMIT} (the caller then streams it). No read link is needed: the descriptor keeps the inode
 * alive and nothing else runs meanwhile. With `verify`, a corrupt mote is evicted and `DigestMismatchError` thrown.
 */
export function readWholeSync(ctx: StoreContext, digest: string, verify: boolean): Buffer | undefined {
  const opened = openBlobSync(ctx.paths.blobPath(digest));
  if (opened.kind === 'foreign') evictQuietly(ctx, digest, opened.ino); // a symlink, a directory: never read
  if (opened.kind !== 'file') return undefined;
  const { fd, st } = opened;
  let data: Buffer;
  try {
    const size = st.size;
    if (size > SYNC_READ_LIMIT) return undefined;
    data = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = fs.readSync(fd, data, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off < size) data = data.subarray(0, off);
    if (verify) {
      try {
        verifyBytes(data, { digest });
      } catch (err) {
        evictQuietly(ctx, digest, st.ino);
        throw err;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  ctx.recordUse(digest);
  return data;
}
