/**
 * Pull-through population of a FileMoteCache from its fallback: one download per digest across every process
 * sharing the root, resumable after an interruption (in this process, or by the next process after a crash).
 *
 * On disk (all under `.mote/`, never under `blobs/`):
 *
 *   fetch/<alg>-<encoded>.lock  who downloads this digest now: `{pid, host, token, since}`, created whole
 *                               (written to a temporary, then link()ed into place, so no one ever reads a half
 *                               written lock) and touched every HEARTBEAT_MS by its holder
 *   partial/<alg>-<encoded>     the bytes received so far; written only by the lock holder, never served
 *
 * Why an own lock and not proper-lockfile (which prune uses): proper-lockfile can only tell a dead holder by
 * its lock's mtime going stale (2 s at the very least, 10 s by default), so a waiter would sit for that long after
 * a SIGKILL. Here the lock names its holder, so a waiter on the same host takes over as soon as the holder's pid
 * is gone; the mtime heartbeat still covers holders it cannot check (another host on a shared filesystem,
 * another pid namespace). A holder that is alive but whose heartbeat stopped (frozen, SIGSTOP) for
 * LOCK_STALE_MS loses the lock AND its partial: see {@link tryAcquire}.
 *
 * Safety never rests on the lock alone. What is published is always the file the publishing process wrote
 * itself (checked by inode when it is renamed out of `partial/`), and every byte of it went through that
 * process's digester: the bytes resumed from the fallback and the ones it found on disk. A partial adopted
 * from another process is only ever one whose writer is gone (dead, or it released the lock after closing its
 * descriptor); a partial that a merely stale (maybe still living) holder may write to is thrown away, so its
 * late writes land in an orphaned inode.
 */
import fs from 'node:fs';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import type { Readable } from 'node:stream';
import { createDigester, parseDigest, type Digester } from '../digest/index.js';
import {
  AbortError,
  DigestMismatchError,
  FallbackFetchError,
  MoteNotFoundError,
  NoSpaceError,
  SizeMismatchError,
  asStoreError,
  isErrno,
} from '../errors.js';
import { isRangeReadable, type MoteCache } from './types.js';
import type { StoreContext } from './context.js';
import type { StoreLayout } from './layout.js';
import { publishSync } from './publish.js';
import { unlinkBestEffort } from './fs-util.js';

/** How often a holder touches its lock (and checks it still owns it). */
const HEARTBEAT_MS = 1_000;
/** A lock not touched for this long belongs to a holder that is dead or frozen: it may be taken over. */
const LOCK_STALE_MS = 15_000;
/** How often a waiter looks at the blob and the lock. */
const POLL_MS = 50;
/** Consecutive fallback failures that brought no new bytes before the download gives up. */
export const MAX_FAILURES_WITHOUT_PROGRESS = 5;

/** A durable download starts an fdatasync after this many new bytes (see drain). */
const EARLY_SYNC_BYTES = 8 << 20;
/** How many times one populate call starts over after its lock or partial was taken away from it. */
const MAX_LOCK_LOSSES = 3;
const HASH_CHUNK = 1 << 20;
const HASH_YIELD_EVERY = 32 * HASH_CHUNK;
const HOST = os.hostname();

/** Progress of one fallback download, as reported to `onFallbackProgress`. */
export interface FallbackProgress {
  digest: string;
  /** Bytes in the partial download so far (including bytes resumed from an earlier, interrupted download). */
  received: number;
  /** Total size as the fallback announced it (-1 if it did not). */
  size: number;
}

/** Our lock or our partial was taken away (stale takeover, sweep): start over. Never surfaces past populate. */
class LockLostError extends Error {}
/** A local failure (writing the partial): not the fallback's fault, never retried. */
class LocalError extends Error {
  constructor(readonly inner: unknown) {
    super('local failure');
  }
}
/** The fallback's stream ended before `size` bytes: retried like an interruption. */
class ShortStreamError extends Error {}

/**
 * Codes of failures that another attempt cannot fix: the fallback does not have the mote, refuses us, was told
 * to stop, or the bytes are wrong. Checked by code so that any MoteCache's typed errors (a registry's) fit.
 */
const FATAL_CODES = new Set([
  'ERR_MOTE_NOT_FOUND',
  'ERR_INVALID_DIGEST',
  'ERR_MOTE_INVALID_ARGUMENT',
  'ERR_MOTE_SIZE_MISMATCH',
  'ERR_MOTE_DIGEST_MISMATCH',
  'ERR_MOTE_NO_SPACE',
  'ABORT_ERR',
  'ERR_REGISTRY_AUTH',
  'ERR_REGISTRY_NOT_FOUND',
  'ERR_REGISTRY_INSECURE',
  'ERR_UNSUPPORTED',
]);

function isFatal(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, name } = err as { code?: unknown; name?: unknown };
  return (typeof code === 'string' && FATAL_CODES.has(code)) || name === 'AbortError';
}

/** Tokens of the locks this process holds now: a lock naming our pid with another token is a leftover. */
const liveTokens = new Set<string>();

/**
 * In-flight populations in this process, by blob path: concurrent readers of one digest (also through several
 * FileMoteCache instances on one root) share one promise, and each one's progress listener hears it.
 */
const flights = new Map<string, { promise: Promise<void>; listeners: Set<(e: FallbackProgress) => void> }>();

/**
 * Makes the mote present in the store, from the fallback: resolves once the blob is published (by this process
 * or another), rejects with the typed error of a failed download. Other processes downloading the same digest
 * are waited for, not duplicated.
 *
 * A waiter waits as long as the holder's lock is alive (its heartbeat fresh). A live holder making no progress
 * is bounded by its own fallback (timeouts, the failure bound here), not by the waiters: they have no timeout of
 * their own. A dead holder is noticed within one poll on the same host, within LOCK_STALE_MS elsewhere.
 */
export function populateFromFallback(
  ctx: StoreContext,
  fallback: MoteCache,
  digest: string,
  onProgress?: (e: FallbackProgress) => void,
): Promise<void> {
  const key = ctx.layout.blobPath(digest);
  let flight = flights.get(key);
  if (!flight) {
    const listeners = new Set<(e: FallbackProgress) => void>();
    const notify = (e: FallbackProgress): void => {
      for (const l of listeners) {
        try {
          l(e);
        } catch {
          /* a progress bar's failure must not fail the download */
        }
      }
    };
    const promise = populateAcrossProcesses(ctx, fallback, digest, notify).finally(() => flights.delete(key));
    flight = { promise, listeners };
    flights.set(key, flight);
  }
  if (onProgress) flight.listeners.add(onProgress);
  return flight.promise;
}

async function populateAcrossProcesses(
  ctx: StoreContext,
  fallback: MoteCache,
  digest: string,
  notify: (e: FallbackProgress) => void,
): Promise<void> {
  const { layout } = ctx;
  const blob = layout.blobPath(digest);
  fs.mkdirSync(layout.fetchDir, { recursive: true });
  fs.mkdirSync(layout.partialDir, { recursive: true });
  let losses = 0;
  for (;;) {
    if (fs.existsSync(blob)) return; // published, by anyone
    const lock = tryAcquire(layout, digest);
    if (lock) {
      try {
        await download(ctx, fallback, digest, lock, notify);
        return;
      } catch (err) {
        if (err instanceof LockLostError && ++losses <= MAX_LOCK_LOSSES) continue;
        if (err instanceof LockLostError) throw new FallbackFetchError(digest, losses, 0, err);
        throw err;
      } finally {
        lock.release();
      }
    }
    // Someone else (another process) downloads it: wait for the blob, or for the lock to go (released after a
    // failure, or its holder died), then look again.
    await sleep(POLL_MS);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The lock

interface LockRecord {
  pid: number;
  /** worker_threads thread id: threads of one process have one pid but each its own `liveTokens`. */
  thread: number;
  host: string;
  token: string;
  since: number;
}

type LockState =
  | { state: 'free' }
  | { state: 'live' | 'dead' | 'stale'; raw: string; mtimeMs: number };

/**
 * What the lock at `lockPath` is: `free` (none), `live`, `dead` (its holder is gone: on this host and its pid
 * is not running, or it names this thread of this process but none of our current locks) or `stale` (not touched for
 * LOCK_STALE_MS: a holder elsewhere that died, or one that is frozen).
 */
function inspectLock(lockPath: string, staleMs = LOCK_STALE_MS): LockState {
  let raw: string;
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(lockPath).mtimeMs;
    raw = fs.readFileSync(lockPath, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { state: 'free' };
    throw err;
  }
  let rec: Partial<LockRecord> = {};
  try {
    rec = JSON.parse(raw) as Partial<LockRecord>;
  } catch {
    /* not ours, or damaged: judged by its age alone */
  }
  if (rec.host === HOST && Number.isSafeInteger(rec.pid) && rec.pid! > 0) {
    const mine = rec.pid === process.pid && rec.thread === threadId;
    if (mine ? !liveTokens.has(String(rec.token)) : !pidAlive(rec.pid!)) return { state: 'dead', raw, mtimeMs };
  }
  if (Date.now() - mtimeMs >= staleMs) return { state: 'stale', raw, mtimeMs };
  return { state: 'live', raw, mtimeMs };
}

/**
 * Removes the lock at `lockPath` if it still is the one judged (same content: the token is unique). It is
 * renamed away first, then compared: a plain unlink after the check could remove a fresh lock that another
 * waiter created in between. If the renamed file turns out to be a newer lock, it is put back (link: never over
 * a lock created meanwhile) and its holder, if it notices the gap, starts over: wasted work, never two writers
 * on one file (see the module comment).
 */
function takeOver(layout: StoreLayout, lockPath: string, judgedRaw: string): boolean {
  const tomb = layout.tempPath('lock');
  try {
    fs.renameSync(lockPath, tomb);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false; // someone else removed it
    throw err;
  }
  try {
    if (fs.readFileSync(tomb, 'utf8') === judgedRaw) return true;
    try {
      fs.linkSync(tomb, lockPath);
    } catch {
      /* a newer lock is in place already */
    }
    return false;
  } finally {
    unlinkBestEffort(tomb);
  }
}

/** A held fetch lock: touched every HEARTBEAT_MS; notices when it was taken away. */
class FetchLock {
  readonly controller = new AbortController();
  #lost = false;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly path: string,
    readonly raw: string,
    readonly token: string,
  ) {
    liveTokens.add(token);
    this.#timer = setInterval(() => this.#beat(), HEARTBEAT_MS);
    this.#timer.unref();
  }

  get lost(): boolean {
    return this.#lost;
  }

  #beat(): void {
    if (this.#lost) return;
    if (!this.#stillOurs()) return this.#lose();
    const now = new Date();
    try {
      fs.utimesSync(this.path, now, now);
    } catch {
      this.#lose();
    }
  }

  #stillOurs(): boolean {
    try {
      return fs.readFileSync(this.path, 'utf8') === this.raw;
    } catch {
      return false;
    }
  }

  #lose(): void {
    this.#lost = true;
    this.controller.abort(new LockLostError('fetch lock lost'));
  }

  /** Synchronous check, e.g. right before publishing. */
  throwIfLost(): void {
    if (!this.#lost && !this.#stillOurs()) this.#lose();
    if (this.#lost) throw new LockLostError('fetch lock lost');
  }

  /**
   * Stops the heartbeat and removes the lock if it is still ours. Called after the partial's descriptor is
   * closed: the next holder may adopt the partial only once nobody writes to it any more.
   */
  release(): void {
    clearInterval(this.#timer);
    liveTokens.delete(this.token);
    if (!this.#lost && this.#stillOurs()) unlinkBestEffort(this.path);
  }
}

/**
 * Takes the digest's fetch lock if it is free, dead or stale; undefined while a live holder has it. A stale
 * holder (alive or not, we cannot tell) loses its partial too, before its lock is removed: it might still be
 * writing to it, and a partial someone else writes to must never be adopted.
 */
function tryAcquire(layout: StoreLayout, digest: string): FetchLock | undefined {
  const lockPath = layout.fetchLockPath(digest);
  // The common case for a waiter, without creating anything.
  if (inspectLock(lockPath).state === 'live') return undefined;
  const token = randomBytes(12).toString('hex');
  const raw = JSON.stringify({ pid: process.pid, thread: threadId, host: HOST, token, since: Date.now() } satisfies LockRecord);
  // Written whole to a temporary, then link()ed: link fails with EEXIST instead of replacing a lock, and a
  // reader never sees a lock file without its content.
  const temp = layout.tempPath('lock');
  fs.writeFileSync(temp, raw, { flag: 'wx', mode: 0o644 });
  try {
    for (let round = 0; round < 3; round++) {
      try {
        fs.linkSync(temp, lockPath);
        return new FetchLock(lockPath, raw, token);
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
      }
      const seen = inspectLock(lockPath);
      if (seen.state === 'live') return undefined;
      if (seen.state === 'stale') discardPartial(layout, digest);
      if (seen.state !== 'free') takeOver(layout, lockPath, seen.raw);
    }
    return undefined;
  } finally {
    unlinkBestEffort(temp);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The download

interface PartialFile {
  fd: number;
  ino: number;
  dev: number;
  length: number;
}

/** Opens the digest's partial for writing: the one left behind, else a new one. Caller holds the lock. */
function openPartial(layout: StoreLayout, digest: string): PartialFile {
  const p = layout.partialPath(digest);
  let fd: number;
  try {
    fd = fs.openSync(p, 'r+');
  } catch (err) {
    if (!isErrno(err, 'ENOENT', 'EACCES', 'EPERM')) throw err;
    // EACCES: a partial left read-only (chmod'ed just before a publish that did not happen): start over.
    if (!isErrno(err, 'ENOENT')) discardPartial(layout, digest);
    fd = fs.openSync(p, 'wx', 0o644);
  }
  const st = fs.fstatSync(fd);
  return { fd, ino: st.ino, dev: st.dev, length: st.size };
}

/** Throws a partial away: renamed to a private temporary first (so its name is free at once), then unlinked. */
function discardPartial(layout: StoreLayout, digest: string): void {
  const temp = layout.tempPath('ingest');
  try {
    fs.renameSync(layout.partialPath(digest), temp);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    throw err;
  }
  unlinkBestEffort(temp);
}

/**
 * Renames the partial out of `partial/` to a private temporary and checks that it is the file we wrote (same
 * inode). Returns that temporary, or undefined after putting back a file that is not ours (our partial was
 * discarded or swept and someone else's took its name). Synchronous: nothing can slip in between.
 */
function claimOwnPartial(layout: StoreLayout, digest: string, own: PartialFile): string | undefined {
  const p = layout.partialPath(digest);
  const temp = layout.tempPath('ingest');
  try {
    fs.renameSync(p, temp);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  const st = fs.statSync(temp);
  if (st.ino === own.ino && st.dev === own.dev) return temp;
  try {
    fs.linkSync(temp, p); // give it back; never over a partial created meanwhile
  } catch {
    /* another one is in place: this one has no owner any more */
  }
  unlinkBestEffort(temp);
  return undefined;
}

/** Removes our partial (a mismatch: those bytes must never be resumed). */
function removeOwnPartial(layout: StoreLayout, digest: string, own: PartialFile): void {
  const temp = claimOwnPartial(layout, digest, own);
  if (temp) unlinkBestEffort(temp);
}

async function download(
  ctx: StoreContext,
  fallback: MoteCache,
  digest: string,
  lock: FetchLock,
  notify: (e: FallbackProgress) => void,
): Promise<void> {
  const { layout } = ctx;
  // Somebody may have published it between our look and our lock.
  if (fs.existsSync(layout.blobPath(digest))) return;
  const info = await fallback.find(digest);
  if (!info) throw new MoteNotFoundError(digest, 'not in the cache nor in its fallback');
  lock.throwIfLost();
  const { algorithm } = parseDigest(digest);
  const size = info.size >= 0 ? info.size : -1;
  const rangeable = isRangeReadable(fallback);
  const part = openPartial(layout, digest);
  let fdOpen = true;
  const closeFd = (): void => {
    if (fdOpen) {
      fdOpen = false;
      fs.closeSync(part.fd);
    }
  };
  try {
    // Shared with drain(), which advances it chunk by chunk: after a failure mid-stream it says how far we got.
    const st: DownloadState = { offset: part.length, digester: createDigester(algorithm) };
    if (size >= 0 && st.offset > size) {
      closeFd();
      removeOwnPartial(layout, digest, part);
      throw new SizeMismatchError(digest, size, st.offset);
    }
    if (st.offset > 0 && !rangeable) {
      // No way to ask for the rest: start over, in the same file.
      fs.ftruncateSync(part.fd, 0);
      st.offset = 0;
    } else if (st.offset > 0) {
      // Resuming: the bytes already on disk are hashed too, so the final check covers every published byte.
      await hashPrefix(part.fd, st.offset, st.digester, lock);
    }
    const report = (): void => notify({ digest, received: st.offset, size });
    report();

    let attempts = 0;
    let failures = 0; // consecutive attempts that brought no new byte
    let highWater = st.offset; // the furthest any attempt got: a restart from 0 must beat it to count as progress
    let ended = false;
    while (size >= 0 ? st.offset < size : !ended) {
      lock.throwIfLost();
      attempts++;
      try {
        const source =
          st.offset > 0 && rangeable
            ? await fallback.moteReaderFrom(digest, st.offset, { signal: lock.controller.signal })
            : await fallback.moteReader(digest);
        await drain(source, part.fd, st, size, digest, lock, report, layout.root, ctx.durable);
        if (size >= 0 && st.offset < size) throw new ShortStreamError(`the fallback's stream ended after ${st.offset} of ${size} bytes`);
        ended = true;
      } catch (err) {
        if (err instanceof LocalError) throw err.inner;
        if (err instanceof LockLostError || lock.lost) throw new LockLostError('fetch lock lost');
        if (isFatal(err)) {
          if (isErrno(err, 'ABORT_ERR') || (err as Error).name === 'AbortError') throw asAbort(err);
          // The fallback says the bytes are wrong: those already written cannot be trusted either.
          if (err instanceof SizeMismatchError || err instanceof DigestMismatchError || err instanceof NoSpaceError) {
            closeFd();
            removeOwnPartial(layout, digest, part);
          }
          throw err;
        }
        if (st.offset > highWater) {
          highWater = st.offset;
          failures = 0;
        } else if (++failures >= MAX_FAILURES_WITHOUT_PROGRESS) {
          throw new FallbackFetchError(digest, attempts, st.offset, err);
        }
        if (!rangeable && st.offset > 0) {
          fs.ftruncateSync(part.fd, 0);
          st.offset = 0;
          st.digester = createDigester(algorithm);
          report();
        }
        await sleep(Math.min(1_000, 25 * 2 ** failures));
      }
    }

    const offset = st.offset;
    const actual = st.digester.digest();
    const onDisk = fs.fstatSync(part.fd).size;
    if ((size >= 0 && offset !== size) || onDisk !== offset || actual !== digest) {
      closeFd();
      removeOwnPartial(layout, digest, part); // never resumed, never published
      if (size >= 0 && offset !== size) throw new SizeMismatchError(digest, size, offset);
      if (onDisk !== offset) throw new SizeMismatchError(digest, offset, onDisk);
      throw new DigestMismatchError(digest, actual);
    }
    // Read-only like every blob, then data fsync BEFORE the rename: the blob name must never point at bytes that
    // a crash could still lose. fchmod first so the mode is in the same journal state as the data.
    fs.fchmodSync(part.fd, 0o444);
    if (ctx.durable) fs.fsyncSync(part.fd);
    closeFd();
    lock.throwIfLost();
    // Out of partial/ by rename, checked to be our inode, then the ordinary publish (rename unless the blob is
    // there already, then directory fsync when durable).
    const temp = claimOwnPartial(layout, digest, part);
    if (!temp) throw new LockLostError('partial taken away');
    try {
      publishSync(ctx, temp, digest);
    } catch (err) {
      unlinkBestEffort(temp);
      throw asStoreError(err, layout.root);
    }
    ctx.recordWrite(digest, info.mediaType);
  } finally {
    closeFd();
  }
}

function asAbort(err: unknown): unknown {
  return err instanceof AbortError ? err : new AbortError(err);
}

interface DownloadState {
  /** Bytes in the partial that went through `digester`. */
  offset: number;
  digester: Digester;
}

/** Writes the stream's bytes at `st.offset` on, hashing them, advancing `st.offset` after each written chunk. */
async function drain(
  source: Readable,
  fd: number,
  st: DownloadState,
  size: number,
  digest: string,
  lock: FetchLock,
  report: () => void,
  root: string,
  durable: boolean,
): Promise<void> {
  // Durable downloads flush as they go: an fdatasync in the thread pool every EARLY_SYNC_BYTES, one at a time,
  // while the next chunks arrive. The download is usually faster than the disk, so without this all of a large
  // blob's writeback would wait for the final fsync, after the last byte. Failures here are ignored: the final
  // fsync before the rename is the one that counts, and it reports any error.
  let unsynced = 0;
  let syncing: Promise<void> | undefined;
  const earlySync = (): void => {
    unsynced = 0;
    syncing = new Promise<void>((resolve) => fs.fdatasync(fd, () => resolve())).finally(() => (syncing = undefined));
  };
  // A stalled stream must still notice a lost lock: destroy it then.
  const onLost = (): void => {
    source.destroy(new LockLostError('fetch lock lost'));
  };
  lock.controller.signal.addEventListener('abort', onLost, { once: true });
  try {
    for await (const chunk of source) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      if (size >= 0 && st.offset + buf.byteLength > size) {
        // More than announced: a wrong mote, not an interruption. Stop before writing what we would throw away.
        throw new SizeMismatchError(digest, size, st.offset + buf.byteLength);
      }
      // Start the write, hash while the thread pool copies the same buffer, then wait for it. A failed write
      // is local and fatal, so the digester running ahead of the file never matters.
      const written = writeAllAt(fd, buf, st.offset);
      st.digester.update(buf);
      try {
        await written;
      } catch (err) {
        throw new LocalError(asStoreError(err, root));
      }
      st.offset += buf.byteLength;
      report();
      if (lock.lost) throw new LockLostError('fetch lock lost');
      if (durable && (unsynced += buf.byteLength) >= EARLY_SYNC_BYTES && !syncing) earlySync();
    }
  } finally {
    // The fd must stay open until the thread pool is done with it (the caller closes it after we return).
    await syncing;
    lock.controller.signal.removeEventListener('abort', onLost);
    if (!source.destroyed) source.destroy();
  }
}

function writeAllAt(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number): void => {
      fs.write(fd, buf, off, buf.byteLength - off, position + off, (err, n) => {
        if (err) return reject(err);
        if (off + n >= buf.byteLength) return resolve();
        step(off + n);
      });
    };
    step(0);
  });
}

/**
 * Feeds the first `length` bytes of the partial into the digester (sync 1 MiB reads, yielding every 32 MiB so
 * the heartbeat keeps running). The digest is then the digest of the file, not of what some earlier process
 * believed it wrote.
 */
async function hashPrefix(fd: number, length: number, digester: Digester, lock: FetchLock): Promise<void> {
  const buffer = Buffer.allocUnsafe(HASH_CHUNK);
  let position = 0;
  let sinceYield = 0;
  while (position < length) {
    const n = fs.readSync(fd, buffer, 0, Math.min(HASH_CHUNK, length - position), position);
    if (n === 0) throw new LockLostError('the partial shrank under us'); // someone else touched it: start over
    digester.update(buffer.subarray(0, n));
    position += n;
    sinceYield += n;
    if (sinceYield >= HASH_YIELD_EVERY) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
      lock.throwIfLost();
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return isErrno(err, 'EPERM'); // alive, just not ours to signal
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The sweep

/**
 * Part of `sweepTemporaries` (so `initialize()` and `verify()`): removes partials older than `staleAfterMs`
 * whose lock is not live (none, dead or stale), and locks whose holder is dead, or that nobody touched for
 * `staleAfterMs` (a stale lock's partial goes first, for the reason given in {@link tryAcquire}). A partial
 * under a live lock is never touched, whatever its age. Returns how many files were removed.
 */
export function sweepFetchState(layout: StoreLayout, staleAfterMs: number): number {
  let swept = 0;
  const now = Date.now();
  let partials: string[] = [];
  try {
    partials = fs.readdirSync(layout.partialDir);
  } catch {
    /* never populated */
  }
  for (const name of partials) {
    const digest = digestOfName(name);
    if (!digest) continue; // not ours
    try {
      if (inspectLock(layout.fetchLockPath(digest)).state === 'live') continue;
      const p = layout.partialPath(digest);
      const st = fs.lstatSync(p);
      if (now - Math.max(st.mtimeMs, st.ctimeMs) < staleAfterMs) continue;
      // Checked again right before: a holder that took the lock since must keep its partial.
      if (inspectLock(layout.fetchLockPath(digest)).state === 'live') continue;
      fs.unlinkSync(p);
      swept++;
    } catch {
      /* vanished meanwhile */
    }
  }
  let locks: string[] = [];
  try {
    locks = fs.readdirSync(layout.fetchDir);
  } catch {
    /* never populated */
  }
  for (const name of locks) {
    if (!name.endsWith('.lock')) continue;
    const digest = digestOfName(name.slice(0, -'.lock'.length));
    if (!digest) continue;
    try {
      const lockPath = layout.fetchLockPath(digest);
      const seen = inspectLock(lockPath, Math.max(staleAfterMs, LOCK_STALE_MS));
      if (seen.state === 'free' || seen.state === 'live') continue;
      if (seen.state === 'stale') discardPartial(layout, digest);
      if (takeOver(layout, lockPath, seen.raw)) swept++;
    } catch {
      /* vanished meanwhile */
    }
  }
  return swept;
}

/** `<alg>-<encoded>` back to `<alg>:<encoded>`, if it names a valid digest. */
function digestOfName(name: string): string | undefined {
  const i = name.indexOf('-');
  if (i <= 0) return undefined;
  const digest = `${name.slice(0, i)}:${name.slice(i + 1)}`;
  try {
    parseDigest(digest);
    return digest;
  } catch {
    return undefined;
  }
}
