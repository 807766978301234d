/**
 * Partial downloads (`.mote/partial/<alg>-<encoded>`). The rules that make them safe even when the lock misjudged
 * a holder (see `fetch.ts`): a holder writes only into a partial it created itself (O_EXCL); one left on disk is
 * renamed aside and its prefix copied into a new one, hashing exactly the bytes copied; a partial is never
 * truncated in place; and the holder publishes only its own inode, checked when renamed out of `partial/`.
 */
import fs from 'node:fs';
import { yieldToEventLoop } from '../../internal/abort.js';
import { isErrno } from '../../internal/errno.js';
import { putBack, unlinkBestEffort } from '../../internal/fs.js';
import type { StorePaths } from '../file/paths.js';
import { LocalError, LockLostError } from './failures.js';
import type { FetchLock } from './lock.js';
import { COPY_CHUNK, COPY_YIELD_EVERY } from './options.js';

export interface PartialFile {
  fd: number;
  ino: number;
  dev: number;
}

/**
 * Creates a new, empty partial that only we write to. O_EXCL: if a file appeared under that name meanwhile,
 * someone else thinks they hold the digest: start over rather than share it.
 */
export function createPartial(paths: StorePaths, digest: string, lock: FetchLock): PartialFile {
  let fd: number;
  try {
    fd = fs.openSync(paths.partialPath(digest), 'wx', 0o644);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) throw new LockLostError('a partial appeared under us');
    throw new LocalError(err);
  }
  const st = fs.fstatSync(fd);
  const part = { fd, ino: st.ino, dev: st.dev };
  lock.partial = part;
  return part;
}

/** Throws a partial away by name: renamed to a private temporary first (so its name is free at once), then unlinked. */
export function discardPartial(paths: StorePaths, digest: string): boolean {
  const temp = paths.tempPath('ingest');
  try {
    fs.renameSync(paths.partialPath(digest), temp);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
  unlinkBestEffort(temp);
  return true;
}

/**
 * Starts from the partial left on disk (by a crash, a failure, or a holder judged dead or stale): it is renamed to
 * a private name at once, and its first `snapshot` bytes (its length then) are copied into a partial we create,
 * through `digesters`. Whoever may still hold a descriptor of the old file writes into an orphan from then on.
 * If the old file shrinks while we copy, we keep what we read. Returns the new partial and its length.
 */
export async function adoptPartial(
  paths: StorePaths,
  digest: string,
  lock: FetchLock,
  digesters: ReadonlyArray<{ update(chunk: Uint8Array): unknown }>,
  maxLength: number,
): Promise<{ part: PartialFile; length: number }> {
  const aside = paths.tempPath('ingest');
  try {
    fs.renameSync(paths.partialPath(digest), aside);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { part: createPartial(paths, digest, lock), length: 0 };
    throw new LocalError(err);
  }
  let src: number;
  try {
    src = fs.openSync(aside, 'r');
  } catch (err) {
    unlinkBestEffort(aside);
    throw new LocalError(err);
  }
  try {
    const snapshot = Math.min(fs.fstatSync(src).size, maxLength);
    const part = createPartial(paths, digest, lock);
    const buffer = Buffer.allocUnsafe(COPY_CHUNK);
    let position = 0;
    let sinceYield = 0;
    try {
      while (position < snapshot) {
        const n = fs.readSync(src, buffer, 0, Math.min(COPY_CHUNK, snapshot - position), position);
        if (n === 0) break; // shrank under us (a late writer truncated it): keep what we have
        const chunk = buffer.subarray(0, n);
        for (let off = 0; off < n; ) off += fs.writeSync(part.fd, chunk, off, n - off, position + off);
        for (const d of digesters) d.update(chunk);
        position += n;
        sinceYield += n;
        if (sinceYield >= COPY_YIELD_EVERY) {
          sinceYield = 0;
          await yieldToEventLoop(); // let the heartbeat run
          lock.throwIfLost();
        }
      }
    } catch (err) {
      fs.closeSync(part.fd);
      if (err instanceof LockLostError) throw err;
      // A failed copy (a full disk) leaves no half-copied partial behind; the one we copied from is gone already.
      removeOwnPartial(paths, digest, part);
      throw new LocalError(err);
    }
    return { part, length: position };
  } finally {
    fs.closeSync(src);
    unlinkBestEffort(aside);
  }
}

/**
 * Renames the partial out of `partial/` to a private temporary and checks that it is the file we wrote (same
 * inode). Returns that temporary, or undefined after putting back a file that is not ours (our partial was
 * swept or adopted and someone else's took its name). Synchronous: nothing can slip in between.
 */
export function claimOwnPartial(paths: StorePaths, digest: string, own: PartialFile): string | undefined {
  const p = paths.partialPath(digest);
  const temp = paths.tempPath('ingest');
  try {
    fs.renameSync(p, temp);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  const st = fs.statSync(temp);
  if (st.ino === own.ino && st.dev === own.dev) return temp;
  putBack(temp, p);
  unlinkBestEffort(temp);
  return undefined;
}

/** Removes our partial by name, if the name still points at it; false if it does not (taken away). */
export function removeOwnPartial(paths: StorePaths, digest: string, own: PartialFile): boolean {
  const temp = claimOwnPartial(paths, digest, own);
  if (temp) unlinkBestEffort(temp);
  return temp !== undefined;
}
