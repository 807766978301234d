import fs from 'node:fs';
import { InvalidArgumentError } from '../../errors.js';
import { isErrno } from '../../internal/errno.js';
import { throwIfAborted } from '../../internal/abort.js';
import { acquireLock } from '../../internal/lockfile.js';
import type { PruneOptions, PruneResult } from '../types.js';
import { openReaders, type StoreContext } from './context.js';
import { fsyncDirSync } from '../../internal/fs.js';
import { nowMicros } from '../../internal/clock.js';
import { uniqueBytes, walkBlobs, type BlobEntry } from './walk.js';
import path from 'node:path';

const BATCH = 2_000;
const UNLINK_CONCURRENCY = 8;

/**
 * Size-bounded LRU pruning, and (`olderThanMs`) age-bounded: what was not used since the cutoff goes whatever the
 * size, then the oldest of the rest until the size is reached.
 *
 * Order: by the last use recorded in the index (written or read through motecache, by any process), oldest
 * first; a blob the index does not know sorts by its mtime. atime is not used: relatime/noatime mounts make it
 * lie. Bytes are counted per inode, so hard links are counted once.
 *
 * Skipped, never removed: a mote with other links to its inode (a reader's private link, so somebody is reading
 * it, or a link outside the store: removing our name would free nothing anyway), a mote open in this process,
 * and a mote used after the scan started (its index entry is re-read right before the unlink).
 *
 * Only one prune runs at a time across processes (proper-lockfile on `.mote/prune.lock`); a second one waits.
 * Readers and writers are not locked out: they never need the prune lock, and every unlink is awaited, so the
 * event loop keeps running. The AbortSignal is checked before each unlink; an aborted prune stops within the
 * unlinks already in flight, keeps the index in step with what it removed, and rejects with AbortError.
 */
export async function prune(ctx: StoreContext, maxSize: number, options: PruneOptions = {}): Promise<PruneResult> {
  if (!Number.isSafeInteger(maxSize) || maxSize < 0) {
    throw new InvalidArgumentError(`prune: maxSize must be a non-negative integer of bytes, got ${maxSize}`);
  }
  const { signal, olderThanMs } = options;
  if (olderThanMs !== undefined && (!Number.isSafeInteger(olderThanMs) || olderThanMs < 0)) {
    throw new InvalidArgumentError(`prune: olderThanMs must be a non-negative integer of milliseconds, got ${olderThanMs}`);
  }
  // Only serializes prunes: a lost lock costs at most wasted work.
  const release = await acquireLock(ctx.paths.pruneLockTarget, `${ctx.paths.pruneLockTarget}.lock`, signal);
  try {
    return await pruneLocked(ctx, maxSize, olderThanMs, signal);
  } finally {
    await release().catch(() => undefined);
  }
}

async function pruneLocked(ctx: StoreContext, maxSize: number, olderThanMs: number | undefined, signal: AbortSignal | undefined): Promise<PruneResult> {
  const scanStart = nowMicros();
  // Last uses before this (microseconds, as the index keeps them) are too old to keep whatever the size.
  const cutoff = olderThanMs === undefined ? -Infinity : scanStart - olderThanMs * 1000;
  const entries: BlobEntry[] = [];
  for (const e of walkBlobs(ctx.paths)) {
    entries.push(e);
    // The scan is synchronous (a sync lstat is ~10x cheaper than an async one); let the event loop breathe.
    if (entries.length % BATCH === 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      throwIfAborted(signal);
    }
  }
  const total = uniqueBytes(entries).bytes; // hard links counted once
  const nothing = { removed: 0, removedDigests: [], freedBytes: 0, remainingBytes: total, linkedCount: 0, linkedBytes: 0 };
  if (total <= maxSize && olderThanMs === undefined) return nothing;

  throwIfAborted(signal);
  const uses = ctx.index.all();
  const lastUse = (e: BlobEntry): number => uses.get(e.digest)?.lastUsed ?? Math.round(e.mtimeMs * 1000);
  const order = entries.map((e) => ({ e, used: lastUse(e), dated: uses.has(e.digest) }));
  order.sort((a, b) => a.used - b.used);
  if (total <= maxSize && !(order.length > 0 && order[0]!.used < cutoff)) return nothing;
  // Oldest first: over the size, or (with olderThanMs) unused since before the cutoff.
  const wanted = (i: number): boolean => total - freed - inFlight > maxSize || order[i]!.used < cutoff;

  const removed: string[] = [];
  let freed = 0;
  // Candidates kept because another link holds their inode (a layout, a reader, a lease): removing ours frees nothing.
  let linkedCount = 0;
  let linkedBytes = 0;
  let inFlight = 0; // bytes whose unlink has been issued but not yet confirmed
  let next = 0;
  let forgotten: string[] = [];
  const touchedDirs = new Set<string>();
  const flushIndex = (): void => {
    if (forgotten.length === 0) return;
    ctx.index.deleteMany(forgotten);
    ctx.notifyRemoved(forgotten);
    forgotten = [];
  };

  // Several unlinks in flight at once. On ext4 the cost of an unlink is mostly the kernel freeing the file's
  // blocks (~200 µs here for a one-block file against ~12 µs for an empty one); a few at a time over the thread
  // pool overlap that work (measured ~1.6x at 4 in flight, no gain beyond 8).
  let failed = false; // set by the first worker that fails: the others stop before their next unlink
  const worker = async (): Promise<void> => {
    while (next < order.length && wanted(next) && !signal?.aborted && !failed) {
      const { e, dated } = order[next++]!;
      // By age alone, only what the index dates: a file's mtime says when it was written, not when it was last read
      // (an index rebuilt empty, or reads by users who may not write it, leave no row).
      if (!dated && total - freed - inFlight <= maxSize) continue;
      const verdict = removable(ctx, e, scanStart);
      if (verdict === 'linked') {
        linkedCount++;
        linkedBytes += e.size;
      }
      if (verdict !== 'yes') continue;
      inFlight += e.size;
      try {
        await fs.promises.unlink(e.path);
      } catch (err) {
        if (isErrno(err, 'ENOENT', 'EACCES', 'EPERM', 'EBUSY')) continue;
        failed = true;
        throw err;
      } finally {
        inFlight -= e.size;
      }
      forgotten.push(e.digest);
      touchedDirs.add(path.dirname(e.path));
      removed.push(e.digest);
      freed += e.size;
      if (forgotten.length >= BATCH) flushIndex();
    }
  };
  // allSettled, not all: every worker must have stopped before the index is flushed and the lock released,
  // or a straggler would go on unlinking outside the lock after prune has already rejected.
  const outcomes = await Promise.allSettled(Array.from({ length: UNLINK_CONCURRENCY }, worker));
  // Whatever was removed, also on abort or error, leaves the index.
  flushIndex();
  if (ctx.durable) for (const dir of touchedDirs) fsyncDirSync(dir);
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failure) throw failure.reason;
  // Aborted before the goal was reached: say so. Aborted after it was reached: the work is done, report it.
  if (total - freed > maxSize || (next < order.length && order[next]!.used < cutoff)) throwIfAborted(signal);
  return { removed: removed.length, removedDigests: removed, freedBytes: freed, remainingBytes: total - freed, linkedCount, linkedBytes };
}

/**
 * Checked right before each unlink, not at scan time: a reader may have linked the blob, a writer may have
 * replaced it, or some process may have used it since the scan began. `linked`: kept because another link holds
 * the inode; `busy`: open here, used since the scan began, or replaced or removed meanwhile.
 */
function removable(ctx: StoreContext, e: BlobEntry, scanStart: number): 'yes' | 'linked' | 'busy' {
  if (openReaders.has(e.path)) return 'busy';
  let st: fs.Stats;
  try {
    st = fs.lstatSync(e.path);
  } catch {
    return 'busy'; // removed by someone else: not ours to count
  }
  if (st.ino !== e.ino) return 'busy';
  if (st.nlink > 1) return 'linked';
  const latest = ctx.index.lastUsed(e.digest);
  return latest === undefined || latest < scanStart ? 'yes' : 'busy';
}


