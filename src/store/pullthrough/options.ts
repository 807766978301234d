/**
 * Every default and bound of the pull-through download, named in one place. Each is a trade between promptness and
 * load on the filesystem (or the source), as the comments say.
 */

/** Default for the lock staleness; `MOTECACHE_FETCH_LOCK_STALE_MS` overrides it (tests, or slow shared filesystems). */
const DEFAULT_LOCK_STALE_MS = 15_000;
/** How often a waiter looks at the blob and the lock. */
export const POLL_MS = 50;
/** Consecutive source failures that brought no new bytes before the download gives up. */
export const MAX_FAILURES_WITHOUT_PROGRESS = 5;
/** The longest pause between two attempts (it doubles from 50 ms with each failure without progress). */
export const MAX_RETRY_PAUSE_MS = 1_000;
/**
 * A download writes in batches of this many bytes, one `writev` while the next batch arrives (see drain.ts): large
 * enough to pay an async write's fixed cost rarely, small enough to keep little in memory and resume close to
 * where a dropped connection stopped.
 */
export const WRITE_BATCH_BYTES = 1 << 20;
/** A durable download starts an fdatasync after this many new bytes (see drain.ts). */
export const EARLY_SYNC_BYTES = 8 << 20;
/** How many times one fetch starts over after its lock or partial was taken away from it. */
export const MAX_LOCK_LOSSES = 3;
/** Chunk size of copying a partial aside (adoption), and how often that copy lets the event loop run. */
export const COPY_CHUNK = 1 << 20;
export const COPY_YIELD_EVERY = 32 * COPY_CHUNK;

/** A lock (or breaker) whose content and mtime did not change for this long belongs to a dead or frozen holder. */
export function lockStaleMs(): number {
  const v = Number(process.env.MOTECACHE_FETCH_LOCK_STALE_MS);
  return Number.isSafeInteger(v) && v > 0 ? v : DEFAULT_LOCK_STALE_MS;
}

/** How often a holder touches its lock (and checks that it still owns it and its partial). */
export function heartbeatMs(): number {
  return Math.max(20, Math.min(1_000, Math.floor(lockStaleMs() / 4)));
}
