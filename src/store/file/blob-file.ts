/**
 * What a blob path may hold, and what is done with anything else. A blob path holds a regular, read-only file whose
 * content matches its name. Anything else found there (a symlink, a directory, a FIFO, a socket: left by a tool, a
 * user, an attacker who can write to `blobs/`) is corrupt: it is never followed or opened as a mote, `find` and
 * the readers see a miss, `verify` reports it, and it is evicted by a read or replaced by the next good write.
 *
 * The checks cost nothing extra on the hot paths: a blob is opened with O_NOFOLLOW (a symlink fails with ELOOP
 * instead of being followed) and O_NONBLOCK (a FIFO does not block the open; regular files ignore the flag), and
 * the fstat every reader already does tells a regular file from anything else.
 */
import fs from 'node:fs';
import type { StoreContext } from './context.js';
import { isErrno } from '../../internal/errno.js';
import { putBack } from '../../internal/fs.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = fs.constants;
const OPEN_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

/** A blob path opened: a regular file, nothing, or something else (`ino`: what was judged, for the eviction). */
export type OpenedBlob = { kind: 'file'; fd: number; st: fs.Stats } | { kind: 'absent' } | { kind: 'foreign'; ino: number };

/**
 * Opens `p` (a blob path, or a read link to one) for reading without following a symlink at its end. A regular
 * file comes back open; anything else comes back closed, as `foreign`. Other errors (EACCES...) are thrown.
 */
export function openBlobSync(p: string): OpenedBlob {
  let fd: number;
  try {
    fd = fs.openSync(p, OPEN_FLAGS);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { kind: 'absent' };
    // ELOOP: a symlink (O_NOFOLLOW); ENXIO: a socket; ENODEV/EOPNOTSUPP: a device or special file.
    if (!isErrno(err, 'ELOOP', 'ENXIO', 'ENODEV', 'EOPNOTSUPP', 'ENOTSUP', 'EISDIR')) throw err;
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    return st ? { kind: 'foreign', ino: st.ino } : { kind: 'absent' };
  }
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  if (st.isFile()) return { kind: 'file', fd, st };
  fs.closeSync(fd);
  return { kind: 'foreign', ino: st.ino };
}

/** The blob path's entry: a regular file's stats, nothing, or something else (never followed: lstat). */
export function lstatBlobSync(p: string): { kind: 'file'; st: fs.Stats } | { kind: 'absent' } | { kind: 'foreign'; ino: number } {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return { kind: 'absent' };
  return st.isFile() ? { kind: 'file', st } : { kind: 'foreign', ino: st.ino };
}

/** True when `p` holds a regular file (what counts as "published"; a symlink or a directory does not). */
export function isPublished(p: string): boolean {
  return fs.lstatSync(p, { throwIfNoEntry: false })?.isFile() === true;
}

/**
 * Removes whatever sits at `p` right now (a directory with its content): moved aside to a private temporary first,
 * so the name is free at once, then removed there. Used before a publish over a directory (rename cannot replace
 * one). What was moved aside does not matter: the caller is about to publish verified bytes under that name.
 */
export function clearBlobPath(ctx: StoreContext, p: string): void {
  const aside = ctx.paths.tempPath('ingest');
  try {
    fs.renameSync(p, aside);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    if (!isErrno(err, 'EXDEV')) throw err;
    fs.rmSync(p, { recursive: true, force: true }); // blobs/ on another filesystem than .mote/tmp
    return;
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

/**
 * Evicts the entry judged corrupt (`ino`: a regular file whose content is wrong, or anything that is not a regular
 * file), and forgets the mote. The entry is moved aside first and checked there: if a writer replaced it with a
 * good copy between the judgement and the move, that copy is put back (never over a newer one) instead of being
 * removed. What is not a regular file is removed whatever its inode: it is never a good copy.
 */
export function evictCorrupt(ctx: StoreContext, digest: string, ino: number): void {
  const blobPath = ctx.paths.blobPath(digest);
  const aside = ctx.paths.tempPath('ingest');
  try {
    fs.renameSync(blobPath, aside);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return ctx.forget(digest);
    if (!isErrno(err, 'EXDEV')) throw err;
    // blobs/ on another filesystem than .mote/tmp: check, then remove in place (a narrow window, as a plain unlink).
    const st = fs.lstatSync(blobPath, { throwIfNoEntry: false });
    if (st && (st.ino === ino || !st.isFile())) fs.rmSync(blobPath, { recursive: true, force: true });
    return ctx.forget(digest);
  }
  const st = fs.lstatSync(aside);
  const replaced = st.isFile() && st.ino !== ino; // a good copy published meanwhile: it stays
  if (replaced) putBack(aside, blobPath);
  fs.rmSync(aside, { recursive: true, force: true });
  if (!replaced) ctx.forget(digest);
}

/** {@link evictCorrupt} on a read path: a cache that cannot be written to (read-only) still serves nothing wrong. */
export function evictQuietly(ctx: StoreContext, digest: string, ino: number): void {
  try {
    evictCorrupt(ctx, digest, ino);
  } catch {
    /* EROFS, EACCES...: the read reports a miss all the same; verify reports the entry */
  }
}
