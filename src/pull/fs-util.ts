/**
 * File helpers of the destination writers: temporary names next to the target (so the final rename stays on one
 * filesystem and is atomic), durable small-file writes, and a cross-process lock per destination.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AbortError, isErrno } from '../errors.js';

/** `<dir of target>/.<name of target>.<random>.mote-tmp`: hidden, unique, on the target's filesystem. */
export function siblingTemp(target: string, suffix = 'mote-tmp'): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.${suffix}`);
}

/** fsync by path (read-only open: fsync needs no write access). */
export async function fsyncPath(p: string): Promise<void> {
  const handle = await fs.promises.open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync a directory so that renames into it survive a crash; some filesystems refuse it, which is not fatal. */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    await fsyncPath(dir);
  } catch (err) {
    if (!isErrno(err, 'EINVAL', 'EISDIR', 'EPERM', 'EACCES')) throw err;
  }
}

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

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}

/**
 * Runs `fn` holding a cross-process lock on `target` (a `<target>.lock` directory next to it, proper-lockfile),
 * so two pulls into one layout or archive cannot lose each other's index.json entry. The lock is beside the
 * destination, not in it, so nothing foreign ever appears inside a layout.
 */
export async function withDestinationLock<T>(target: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  // Loaded only when a destination is written: it pulls in graceful-fs.
  const { default: lockfile } = await import('proper-lockfile');
  let release: (() => Promise<void>) | undefined;
  for (;;) {
    throwIfAborted(signal);
    try {
      release = await lockfile.lock(target, {
        realpath: false,
        lockfilePath: `${target}.lock`,
        stale: 30_000,
        update: 5_000,
        retries: 0,
        onCompromised: () => undefined, // a lost lock can at worst lose an index.json entry of a concurrent pull
      });
      break;
    } catch (err) {
      if (!isErrno(err, 'ELOCKED')) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    return await fn();
  } finally {
    await release().catch(() => {});
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
