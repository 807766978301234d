/**
 * A cross-process lock held by proper-lockfile (an mkdir'ed lock directory whose mtime its holder refreshes), for
 * locks that serialize whole operations (a prune, a destination being written). Waiters poll every 100 ms until it
 * is free, the holder's lock goes stale, or their signal fires. proper-lockfile is loaded on first use: it pulls in
 * graceful-fs, start-up time every other command is spared.
 */
import { sleep, throwIfAborted } from './abort.js';
import { isErrno } from './errno.js';

/** A lock this old (not refreshed) belongs to a dead holder. */
const STALE_MS = 30_000;
/** How often a holder refreshes its lock. */
const UPDATE_MS = 5_000;
const POLL_MS = 100;

/**
 * Takes the lock `lockPath` (a directory) for `target`; resolves to its release function. A lost lock is not
 * fatal to its holder: every lock taken here only serializes work that stays correct without it (at worst work
 * is wasted, or a concurrent writer's index entry is lost).
 */
export async function acquireLock(target: string, lockPath: string, signal: AbortSignal | undefined): Promise<() => Promise<void>> {
  const { default: lockfile } = await import('proper-lockfile');
  for (;;) {
    throwIfAborted(signal);
    try {
      return await lockfile.lock(target, {
        realpath: false,
        lockfilePath: lockPath,
        stale: STALE_MS,
        update: UPDATE_MS,
        retries: 0,
        onCompromised: () => undefined,
      });
    } catch (err) {
      if (!isErrno(err, 'ELOCKED')) throw err;
      await sleep(POLL_MS, signal);
    }
  }
}

/** Runs `fn` holding the lock (see {@link acquireLock}); releases it however `fn` ends. */
export async function withLock<T>(target: string, lockPath: string, signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  const release = await acquireLock(target, lockPath, signal);
  try {
    return await fn();
  } finally {
    await release().catch(() => {});
  }
}
