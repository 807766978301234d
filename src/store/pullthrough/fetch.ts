/**
 * The pull-through fetch: makes a mote present in a file store, from a source (a registry), with one download per
 * digest across every process sharing the store's root, resumable after an interruption (in this process, or by
 * the next process after a crash), and every byte verified before it is published.
 *
 * On disk (all under `.mote/`, never under `blobs/`):
 *
 *   fetch/<alg>-<encoded>.lock        who downloads this digest now: `{pid, thread, host, ns, boot, token, since}`,
 *                                     created exclusively (written to a temporary then link()ed into place; where
 *                                     the filesystem has no hard links, open('wx') then written: a reader may see it
 *                                     empty for a moment, and an unparsable lock is judged by its age alone) and
 *                                     touched every heartbeat by its holder (lock.ts, lock-file.ts)
 *   fetch/<alg>-<encoded>.lock.break  held (created 'wx', removed right after) by whoever removes a dead or stale
 *                                     lock, or sweeps a partial (see `withBreaker`)
 *   partial/<alg>-<encoded>           the bytes received so far; written only by the process that created it
 *                                     (partial.ts)
 *
 * The safety argument does NOT rest on the lock. The lock only avoids duplicate downloads; its liveness judgement
 * (pid checks, heartbeat age) can be wrong: a holder in another pid namespace, a frozen one, a clock skew. So:
 *
 *  - A holder never writes into a partial it did not create itself. To resume from a partial left on disk it
 *    first renames it to a private name (so nobody else can reach it by name), then copies its prefix into a
 *    new partial it creates with O_EXCL, hashing exactly the bytes it copies. A previous writer that is in fact
 *    still alive keeps writing (or truncating) an orphaned inode that nobody will ever publish.
 *  - A partial is never truncated in place: starting over means removing our partial by name (checked to be our
 *    inode) and creating a new one.
 *  - What is published is the holder's own partial, checked by inode when it is renamed out of `partial/`, and
 *    every byte of it went through that holder's verifier; the digest and size are checked before the rename.
 */
import fs from 'node:fs';
import path from 'node:path';
import { FetchFailedError } from '../../errors.js';
import { sleep } from '../../internal/abort.js';
import { isErrno } from '../../internal/errno.js';
import { fsyncDir, fsyncPath, mkdirpSync } from '../../internal/fs.js';
import type { StoreContext } from '../file/context.js';
import { isPublished } from '../file/blob-file.js';
import { asStoreError } from '../file/errors.js';
import type { MoteProvider } from '../roles.js';
import { download } from './download.js';
import { LockLostError } from './failures.js';
import { joinFlight } from './flights.js';
import { tryAcquire } from './lock.js';
import { MAX_LOCK_LOSSES, POLL_MS } from './options.js';
import type { FetchHint, FetchProgress } from './types.js';

/**
 * Makes the mote present in the store behind `ctx`, from `source`: resolves once the blob is published (by this
 * process or another), rejects with the typed error of a failed download. `hint` (a manifest's size and media type)
 * bounds the download; callers joining a flight share the hint of the one that started it. Other processes downloading the same
 * digest are waited for, not duplicated; callers in this process join one flight (flights.ts). Different flights
 * for one digest still download once: the second waits on the first's lock like another process would.
 *
 * A waiter waits as long as the holder's lock is alive. A live holder making no progress is bounded by its own
 * source (timeouts, the failure bound of download.ts), not by the waiters: they have no timeout of their own. A
 * dead holder is noticed within one poll in the same pid namespace, within the lock's stale time elsewhere.
 */
export function fetchIntoStore(
  ctx: StoreContext,
  source: MoteProvider,
  digest: string,
  onProgress?: (e: FetchProgress) => void,
  hint: FetchHint = {},
): Promise<void> {
  return joinFlight(ctx, source, digest, onProgress, (notify) => fetchAcrossProcesses(ctx, source, digest, notify, hint));
}

/** Resolves with the media type when this process published the blob, undefined when someone else did. */
async function fetchAcrossProcesses(
  ctx: StoreContext,
  source: MoteProvider,
  digest: string,
  notify: (e: FetchProgress) => void,
  hint: FetchHint,
): Promise<string | undefined> {
  const { paths } = ctx;
  const blob = paths.blobPath(digest);
  try {
    mkdirpSync(paths.fetchDir);
    mkdirpSync(paths.partialDir);
    let losses = 0;
    for (;;) {
      // Only a regular file counts: a symlink or a directory named as the digest is replaced by the download.
      if (isPublished(blob)) {
        // Published by someone else, maybe without fsync (a non-durable instance or process): a durable caller
        // must not return before the bytes and the name are on disk.
        if (ctx.durable) {
          try {
            await fsyncPath(blob); // in the thread pool: other downloads of this process go on meanwhile
          } catch (err) {
            if (isErrno(err, 'ENOENT')) continue; // pruned right away: fetch again
            throw err;
          }
          await fsyncDir(path.dirname(blob));
        }
        return undefined;
      }
      const lock = tryAcquire(paths, digest);
      if (lock) {
        try {
          const published = await download(ctx, source, digest, lock, notify, hint);
          if (published !== undefined) return published;
          continue; // it appeared meanwhile: the check at the top syncs it
        } catch (err) {
          if (err instanceof LockLostError && ++losses <= MAX_LOCK_LOSSES) continue;
          if (err instanceof LockLostError) {
            const kept = fs.statSync(paths.partialPath(digest), { throwIfNoEntry: false })?.size ?? 0;
            throw new FetchFailedError(digest, losses, kept, err);
          }
          throw err;
        } finally {
          lock.release();
        }
      }
      // Someone else downloads it: wait for the blob, or for the lock to go (released after a failure, or its
      // holder died or froze), then look again.
      await sleep(POLL_MS);
    }
  } catch (err) {
    // The source's failures are typed by now (or wrapped in FetchFailedError); a raw errno here is local.
    throw asStoreError(err, paths.root);
  }
}
