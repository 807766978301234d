/**
 * File helpers shared by the store and the destination writers, with one errno policy:
 * - a file fsync reports every error (it is what makes data durable);
 * - a directory fsync ignores the errors that mean "this filesystem or platform cannot sync a directory" (EINVAL,
 *   EISDIR, ENOTSUP/EOPNOTSUPP, and EPERM/EACCES where a directory cannot be opened for it), and reports the rest;
 * - removals of a missing file are fine; best-effort removals on a failing path swallow everything.
 * Synchronous variants are for hot paths where an async call's ~40-50 µs overhead dominates.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isErrno } from './errno.js';

const DIR_SYNC_UNSUPPORTED = ['EINVAL', 'EISDIR', 'ENOTSUP', 'EOPNOTSUPP', 'EPERM', 'EACCES'];

/** fsync a file by path (opened read-only: fsync needs no write access). */
export function fsyncPathSync(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * fsync a directory so that a rename or create inside it survives a crash. Without this, ext4 and xfs may replay
 * the file's data but lose its new name (containerd#12301 added the same call after its rename).
 */
export function fsyncDirSync(dir: string): void {
  try {
    fsyncPathSync(dir);
  } catch (err) {
    if (!isErrno(err, ...DIR_SYNC_UNSUPPORTED)) throw err;
  }
}

/** fsync a file by path, asynchronously. */
export async function fsyncPath(p: string): Promise<void> {
  const handle = await fs.promises.open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** {@link fsyncDirSync}, asynchronously. */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    await fsyncPath(dir);
  } catch (err) {
    if (!isErrno(err, ...DIR_SYNC_UNSUPPORTED)) throw err;
  }
}

/** Removes a file; a missing file is fine. */
export function unlinkQuiet(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}

/** Removes a file and swallows every error: for cleanup on a path that is already failing. */
export function unlinkBestEffort(p: string): void {
  try {
    fs.unlinkSync(p);
  } catch {
    /* the original error matters more; a leftover temporary is swept later */
  }
}

/** lstat, or undefined when nothing is there. */
export function lstatQuietSync(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** lstat, or undefined when nothing is there. */
export async function lstatQuiet(p: string): Promise<fs.Stats | undefined> {
  try {
    return await fs.promises.lstat(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

/** The kinds of temporaries {@link siblingTemp} makes. */
export type TempSuffix = 'mote-tmp' | 'mote-extract';

/**
 * `<dir of target>/.<name of target>.<pid>-<random>.<suffix>`: hidden, unique, on the target's filesystem, and
 * naming its owner, so that whoever finds it after a crash can tell whether its writer is still running (see
 * {@link parseSiblingTemp}).
 */
export function siblingTemp(target: string, suffix: TempSuffix = 'mote-tmp'): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${randomBytes(6).toString('hex')}.${suffix}`);
}

/** A name {@link siblingTemp} made: the target's name, its writer's pid (none in the older, pid-less form). */
export interface SiblingTempName {
  target: string;
  pid: number | undefined;
  suffix: TempSuffix;
}

const SIBLING_TEMP = /^\.(.+)\.(?:(\d{1,10})-)?[0-9a-f]{12}\.(mote-tmp|mote-extract)$/;

/** Parses a name made by {@link siblingTemp} (a base name, not a path); undefined for any other name. */
export function parseSiblingTemp(name: string): SiblingTempName | undefined {
  const m = SIBLING_TEMP.exec(name);
  if (!m) return undefined;
  return { target: m[1]!, pid: m[2] === undefined ? undefined : Number(m[2]), suffix: m[3] as TempSuffix };
}

/** open(2) flags for reading a file that must not be reached through a symbolic link (ELOOP if it is one). */
export const READ_NOFOLLOW = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0);

/** Writes `data` to `target` through a flushed temporary and a rename: readers see the old file or the new one. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  const temp = siblingTemp(target);
  try {
    const handle = await fs.promises.open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temp, target);
  } catch (err) {
    await fs.promises.rm(temp, { force: true });
    throw err;
  }
  await fsyncDir(path.dirname(target));
}

/**
 * Creates `file` with `content` unless it exists, never exposing a partly written file: the bytes go to `temp`
 * (on the same filesystem) that is then hard-linked into place. link() fails with EEXIST instead of replacing,
 * so two processes creating the file at once both succeed and neither clobbers the other. True if we created it.
 */
export function writeFileNoClobberSync(file: string, content: string, options: { durable: boolean; temp: string; mode: number }): boolean {
  if (fs.existsSync(file)) return false;
  const { temp } = options;
  const fd = fs.openSync(temp, 'wx', options.mode);
  try {
    fs.writeFileSync(fd, content);
    if (options.durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.linkSync(temp, file);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  } finally {
    unlinkBestEffort(temp);
  }
}

/**
 * Puts a file renamed away by mistake back at `to`: by link(), so never over a file created there meanwhile
 * (EEXIST: a newer one is in place already); by rename where there are no hard links and `to` is still free.
 * Best effort: a file that cannot be put back is lost, and its owner notices (content or inode checks).
 */
export function putBack(from: string, to: string): void {
  try {
    fs.linkSync(from, to);
  } catch (err) {
    if (isErrno(err, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS') && !fs.existsSync(to)) {
      try {
        fs.renameSync(from, to);
      } catch {
        /* lost: its owner notices and starts over */
      }
    }
  }
}

/**
 * `mkdir -p`, bounded: each missing ancestor is created once, then `dir` once more. Node's own recursive mkdir
 * loops forever where mkdir() answers ENOENT although the parent exists (procfs: `mkdir /proc/self/x`); here that
 * second ENOENT is thrown, as a filesystem that cannot hold the directory.
 */
export function mkdirpSync(dir: string): void {
  try {
    fs.mkdirSync(dir);
    return;
  } catch (err) {
    if (isErrno(err, 'EEXIST') && fs.statSync(dir).isDirectory()) return;
    const parent = path.dirname(dir);
    if (!isErrno(err, 'ENOENT') || parent === dir) throw err;
    mkdirpSync(parent);
  }
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    if (isErrno(err, 'EEXIST') && fs.statSync(dir).isDirectory()) return; // created meanwhile by someone else
    throw err;
  }
}

/** Why {@link readSmallFile} read nothing: the file is missing or unopenable, not a regular file, or over the limit. */
export type SmallFileRefusal = { refused: 'unreadable' | 'not-a-file' | 'too-large'; code?: string };

/**
 * A small file read whole, safely from a directory others may write: never through a final symlink, never
 * blocking on a FIFO (opened `O_NONBLOCK`, then checked to be a regular file), and never more than `maxBytes`
 * however the file grows while it is read.
 */
export function readSmallFile(file: string, maxBytes: number, follow = false): string | SmallFileRefusal {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (follow ? 0 : (fs.constants.O_NOFOLLOW ?? 0)));
  } catch (err) {
    return { refused: 'unreadable', code: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return { refused: 'not-a-file' };
    const buf = Buffer.alloc(maxBytes + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = fs.readSync(fd, buf, n, buf.length - n, null);
    if (n > maxBytes) return { refused: 'too-large' };
    return buf.toString('utf8', 0, n);
  } catch (err) {
    return { refused: 'unreadable', code: (err as NodeJS.ErrnoException).code ?? String(err) };
  } finally {
    fs.closeSync(fd);
  }
}
