/**
 * Pull-through population of a FileMoteCache from its fallback: one download per digest across every process
 * sharing the root, resumable after an interruption (in this process, or by the next process after a crash).
 *
 * On disk (all under `.mote/`, never under `blobs/`):
 *
 *   fetch/<alg>-<encoded>.lock        who downloads this digest now: `{pid, thread, host, ns, boot, token, since}`,
 *                                     created exclusively (written to a temporary then link()ed into place; where
 *                                     the filesystem has no hard links, open('wx') then written: a reader may see it
 *                                     empty for a moment, and an unparsable lock is judged by its age alone) and
 *                                     touched every HEARTBEAT_MS by its holder
 *   fetch/<alg>-<encoded>.lock.break  held (created 'wx', removed right after) by whoever removes a dead or stale
 *                                     lock, or sweeps a partial: see {@link withBreaker}
 *   partial/<alg>-<encoded>           the bytes received so far; written only by the process that created it
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
 *    every byte of it went through that holder's digester; the digest and size are checked before the rename.
 *
 * Why an own lock and not proper-lockfile (which prune uses): proper-lockfile can only tell a dead holder by the
 * mtime of its lock, so a waiter would sit for seconds after a SIGKILL. Here the lock names its holder: a waiter
 * in the same pid namespace and boot (recorded in the lock) takes over as soon as the holder's pid is gone.
 * Anything else (another host, another container, a frozen holder) is judged by the heartbeat: a waiter that sees
 * neither content nor mtime of the lock change for LOCK_STALE_MS of its own monotonic time takes over. The
 * remote mtime is never compared with the local clock (except by the hour-scale sweep).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import type { Readable } from 'node:stream';
import { createDigester, parseDigest, type Digester } from '../digest/index.js';
import {
  AbortError,
  DigestMismatchError,
  FallbackFetchError,
  MoteNotFoundError,
  SizeMismatchError,
} from '../errors.js';
import { isErrno } from '../internal/errno.js';
import { pidAlive } from '../internal/process.js';
import { sleep } from '../internal/abort.js';
import { asStoreError } from './errors.js';
import { isRangeReadable, type MoteCache } from './types.js';
import type { StoreContext } from './context.js';
import type { StoreLayout } from './layout.js';
import { publishSync } from './publish.js';
import { fsyncDirSync, fsyncPathSync, unlinkBestEffort } from '../internal/fs.js';

/** Default for LOCK_STALE_MS; `MOTECACHE_FETCH_LOCK_STALE_MS` overrides it (tests, or slow shared filesystems). */
const DEFAULT_LOCK_STALE_MS = 15_000;
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
/** Our pid namespace and boot: a pid in a lock can only be checked by a process that shares both. */
const PID_NS = readQuiet(() => fs.readlinkSync('/proc/self/ns/pid'));
const BOOT_ID = readQuiet(() => fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());

function readQuiet(fn: () => string): string | undefined {
  try {
    return fn();
  } catch {
    return undefined; // not Linux, or no /proc: pids are judged with the host name alone
  }
}

/** A lock (or breaker) whose content and mtime did not change for this long belongs to a dead or frozen holder. */
function lockStaleMs(): number {
  const v = Number(process.env.MOTECACHE_FETCH_LOCK_STALE_MS);
  return Number.isSafeInteger(v) && v > 0 ? v : DEFAULT_LOCK_STALE_MS;
}
/** How often a holder touches its lock (and checks that it still owns it and its partial). */
function heartbeatMs(): number {
  return Math.max(20, Math.min(1_000, Math.floor(lockStaleMs() / 4)));
}

/**
 * Per-process (per thread) state shared by every copy of this module loaded in it (two bundled copies, a test's
 * fresh import): a copy that did not know the other's locks would judge them dead and take them over.
 */
const SHARED = globalThis as unknown as Record<symbol, unknown>;
/** Tokens of the locks this thread holds now. */
const liveTokens = (SHARED[Symbol.for('motecache.fetch.liveTokens')] ??= new Set<string>()) as Set<string>;
/** Prefix of every token this thread issues: an own-pid token without it was not issued here (another thread). */
const TOKEN_PREFIX = (SHARED[Symbol.for('motecache.fetch.tokenPrefix')] ??= randomBytes(6).toString('hex')) as string;

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

/**
 * Codes that mean the fallback already retried (with its own backoff) before giving up. When opening a stream
 * fails with one of them, retrying here would multiply its retries; the same codes mid-stream (a dropped
 * connection after the response started) are interruptions and resumed.
 */
const RETRIED_UPSTREAM_CODES = new Set(['ERR_REGISTRY_UNAVAILABLE', 'ERR_REGISTRY_RATE_LIMITED', 'ERR_MOTE_FETCH_FAILED']);

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

function isFatal(err: unknown, opening: boolean): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = codeOf(err);
  if (typeof code === 'string' && (FATAL_CODES.has(code) || (opening && RETRIED_UPSTREAM_CODES.has(code)))) return true;
  return (err as { name?: unknown }).name === 'AbortError';
}

/** One in-process population: joined by every caller with the same blob path, fallback and durability. */
interface Flight {
  promise: Promise<void>;
  listeners: Set<(e: FallbackProgress) => void>;
  /** The stores (instances) that asked: each records the write in its own index. */
  contexts: Set<StoreContext>;
}
const flights = new Map<string, Flight>();
const fallbackIds = new WeakMap<object, number>();
let nextFallbackId = 1;

function fallbackId(fallback: MoteCache): number {
  let id = fallbackIds.get(fallback);
  if (id === undefined) fallbackIds.set(fallback, (id = nextFallbackId++));
  return id;
}

/**
 * Makes the mote present in the store, from the fallback: resolves once the blob is published (by this process
 * or another), rejects with the typed error of a failed download. Other processes downloading the same digest
 * are waited for, not duplicated.
 *
 * Callers in this process share one flight only when they would do the very same download: same blob path, same
 * fallback (an instance whose fallback lacks the mote must not fail one whose fallback has it) and same
 * durability (a durable caller must get its fsyncs). Different flights for one digest still download once: the
 * second waits on the first's lock like another process would.
 *
 * A waiter waits as long as the holder's lock is alive. A live holder making no progress is bounded by its own
 * fallback (timeouts, the failure bound here), not by the waiters: they have no timeout of their own. A dead
 * holder is noticed within one poll in the same pid namespace, within LOCK_STALE_MS elsewhere.
 */
export function populateFromFallback(
  ctx: StoreContext,
  fallback: MoteCache,
  digest: string,
  onProgress?: (e: FallbackProgress) => void,
): Promise<void> {
  const key = `${ctx.layout.blobPath(digest)}\n${fallbackId(fallback)}\n${ctx.durable ? 'durable' : 'fast'}`;
  let flight = flights.get(key);
  if (!flight) {
    const listeners = new Set<(e: FallbackProgress) => void>();
    const contexts = new Set<StoreContext>();
    const notify = (e: FallbackProgress): void => {
      for (const l of listeners) {
        try {
          l(e);
        } catch {
          /* a progress bar's failure must not fail the download */
        }
      }
    };
    const promise = populateAcrossProcesses(ctx, fallback, digest, notify)
      .then((mediaType) => {
        if (mediaType !== undefined) for (const c of contexts) c.recordWrite(digest, mediaType);
      })
      .finally(() => flights.delete(key));
    flight = { promise, listeners, contexts };
    flights.set(key, flight);
  }
  flight.contexts.add(ctx);
  if (onProgress) flight.listeners.add(onProgress);
  return flight.promise;
}

/** Resolves with the media type when this process published the blob, undefined when someone else did. */
async function populateAcrossProcesses(
  ctx: StoreContext,
  fallback: MoteCache,
  digest: string,
  notify: (e: FallbackProgress) => void,
): Promise<string | undefined> {
  const { layout } = ctx;
  const blob = layout.blobPath(digest);
  try {
    fs.mkdirSync(layout.fetchDir, { recursive: true });
    fs.mkdirSync(layout.partialDir, { recursive: true });
    let losses = 0;
    for (;;) {
      if (fs.existsSync(blob)) {
        // Published by someone else, maybe without fsync (a non-durable instance or process): a durable caller
        // must not return before the bytes and the name are on disk.
        if (ctx.durable) {
          try {
            fsyncPathSync(blob);
          } catch (err) {
            if (isErrno(err, 'ENOENT')) continue; // pruned right away: populate again
            throw err;
          }
          fsyncDirSync(path.dirname(blob));
        }
        return undefined;
      }
      const lock = tryAcquire(layout, digest);
      if (lock) {
        try {
          const published = await download(ctx, fallback, digest, lock, notify);
          if (published !== undefined) return published;
          continue; // it appeared meanwhile: the check at the top syncs it
        } catch (err) {
          if (err instanceof LockLostError && ++losses <= MAX_LOCK_LOSSES) continue;
          if (err instanceof LockLostError) {
            const kept = fs.statSync(layout.partialPath(digest), { throwIfNoEntry: false })?.size ?? 0;
            throw new FallbackFetchError(digest, losses, kept, err);
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
    // Fallback failures are typed by now (or wrapped in FallbackFetchError); a raw errno here is local.
    throw asStoreError(err, layout.root);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The lock

interface LockRecord {
  pid: number;
  /** worker_threads thread id (for humans: a thread's tokens carry its own TOKEN_PREFIX). */
  thread: number;
  host: string;
  /** `/proc/self/ns/pid` of the holder: its pid means something only in that namespace. */
  ns?: string;
  /** The holder's boot id: after a reboot its pid is someone else's. */
  boot?: string;
  token: string;
  since: number;
}

/** A lock file as read through one descriptor: its content and mtime belong together. */
interface SeenLock {
  raw: string;
  mtimeMs: number;
  ino: number;
}

type LockState = { state: 'free' } | ({ state: 'live' | 'dead' | 'stale' } & SeenLock);

function readLock(p: string): SeenLock | undefined {
  let fd: number;
  try {
    fd = fs.openSync(p, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    return { raw: fs.readFileSync(fd, 'utf8'), mtimeMs: st.mtimeMs, ino: st.ino };
  } finally {
    fs.closeSync(fd);
  }
}

function sameLock(a: SeenLock, b: SeenLock): boolean {
  return a.raw === b.raw && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/** What this process saw of each lock it waits on, and since when (monotonic): see {@link inspectLock}. */
const observed = new Map<string, { seen: SeenLock; since: number }>();

/**
 * What the lock at `lockPath` is: `free` (none), `live`, `dead` (its holder is gone: same host, pid namespace and
 * boot, and its pid is not running, or it is a lock this thread issued and no longer holds) or `stale`.
 *
 * Stale, for a waiter: neither content nor mtime changed during LOCK_STALE_MS of our own monotonic clock (a
 * holder touches it every HEARTBEAT_MS), so clock skew between hosts does not matter. `wallStaleMs` (the sweep,
 * which looks once) judges by the mtime's age instead, with a bound of an hour by default.
 */
function inspectLock(lockPath: string, wallStaleMs?: number): LockState {
  const seen = readLock(lockPath);
  if (!seen) {
    observed.delete(lockPath);
    return { state: 'free' };
  }
  let rec: Partial<LockRecord> = {};
  try {
    rec = JSON.parse(seen.raw) as Partial<LockRecord>;
  } catch {
    /* being written (no hard links), not ours, or damaged: judged by its age alone */
  }
  if (holderGone(rec)) return { state: 'dead', ...seen };
  if (wallStaleMs !== undefined) return { state: Date.now() - seen.mtimeMs >= wallStaleMs ? 'stale' : 'live', ...seen };
  const now = performance.now();
  const o = observed.get(lockPath);
  if (!o || !sameLock(o.seen, seen)) {
    observed.set(lockPath, { seen, since: now });
    return { state: 'live', ...seen };
  }
  return { state: now - o.since >= lockStaleMs() ? 'stale' : 'live', ...seen };
}

/** True only when we can be sure: the pid is one we can check (same host, pid namespace and boot). */
function holderGone(rec: Partial<LockRecord>): boolean {
  if (rec.host !== HOST || rec.ns !== PID_NS || rec.boot !== BOOT_ID) return false;
  if (!Number.isSafeInteger(rec.pid) || rec.pid! <= 0 || typeof rec.token !== 'string') return false;
  if (rec.pid === process.pid) {
    // Our own pid: gone only if this thread issued it and holds it no more. A token we never issued is another
    // thread's (or an older copy of this code's): judged by age.
    return rec.token.startsWith(TOKEN_PREFIX) && !liveTokens.has(rec.token);
  }
  return !pidAlive(rec.pid!);
}

/**
 * Creates `p` with `raw` unless it exists; false if it does. Through a temporary and link() so nobody reads a
 * half-written file; on filesystems without hard links by open('wx') in place (a reader that sees it empty judges
 * it by age, and by then it is written). No fsync: a lock need not survive a crash, its holder would not either.
 */
function createExclusive(layout: StoreLayout, p: string, raw: string): boolean {
  const temp = layout.tempPath('lock');
  fs.writeFileSync(temp, raw, { flag: 'wx', mode: 0o644 });
  try {
    fs.linkSync(temp, p);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    if (!isErrno(err, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS', 'EMLINK')) throw err;
  } finally {
    unlinkBestEffort(temp);
  }
  let fd: number;
  try {
    fd = fs.openSync(p, 'wx', 0o644);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
  try {
    fs.writeFileSync(fd, raw);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * Removes the file at `p` if it still has the content judged (the token makes it unique). Renamed away first,
 * then compared: a plain unlink after the check could remove a file created in between. A newer file renamed
 * by mistake is put back (link: never over one created meanwhile; rename where there are no hard links).
 */
function removeIfSame(layout: StoreLayout, p: string, judgedRaw: string): boolean {
  const tomb = layout.tempPath('lock');
  try {
    fs.renameSync(p, tomb);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false; // someone else removed it
    throw err;
  }
  try {
    if (fs.readFileSync(tomb, 'utf8') === judgedRaw) return true;
    putBack(tomb, p);
    return false;
  } finally {
    unlinkBestEffort(tomb);
  }
}

function putBack(from: string, to: string): void {
  try {
    fs.linkSync(from, to);
  } catch (err) {
    if (isErrno(err, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS') && !fs.existsSync(to)) {
      try {
        fs.renameSync(from, to);
      } catch {
        /* lost: its owner notices (content or inode check) and starts over */
      }
    }
    /* EEXIST: a newer one is in place already */
  }
}

const BUSY = Symbol('busy');

/**
 * Runs `fn` holding the digest's breaker (`<lock>.break`, created exclusively): at most one process at a time
 * removes that digest's lock or sweeps its partial, and it re-inspects under the breaker, so two waiters that
 * both judged the same lock dead cannot remove each other's fresh locks in turn. Returns BUSY if someone else
 * holds it. The breaker is held only across synchronous code, so one that stays unchanged for LOCK_STALE_MS (or
 * whose holder is dead) was left by a crash and is removed.
 */
function withBreaker<T>(layout: StoreLayout, lockPath: string, fn: () => T, wallStaleMs?: number): T | typeof BUSY {
  const breaker = `${lockPath}.break`;
  const raw = lockRecord(randomToken());
  if (!createExclusive(layout, breaker, raw)) {
    const seen = inspectLock(breaker, wallStaleMs);
    if (seen.state === 'dead' || seen.state === 'stale') removeIfSame(layout, breaker, seen.raw);
    return BUSY;
  }
  try {
    return fn();
  } finally {
    // Nobody removes a breaker that is this young (see above), so check-then-unlink cannot hit another's.
    if (readLock(breaker)?.raw === raw) unlinkBestEffort(breaker);
  }
}

function randomToken(): string {
  return TOKEN_PREFIX + randomBytes(12).toString('hex');
}

function lockRecord(token: string): string {
  const rec: LockRecord = { pid: process.pid, thread: threadId, host: HOST, token, since: Date.now() };
  if (PID_NS !== undefined) rec.ns = PID_NS;
  if (BOOT_ID !== undefined) rec.boot = BOOT_ID;
  return JSON.stringify(rec);
}

/** A held fetch lock: touched every HEARTBEAT_MS; notices when it, or its partial, was taken away. */
class FetchLock {
  readonly controller = new AbortController();
  /** Our partial, once created: the heartbeat checks that its name still points at this inode. */
  partial: { ino: number; dev: number } | undefined;
  #lost = false;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly layout: StoreLayout,
    readonly path: string,
    readonly partialPath: string,
    readonly raw: string,
    readonly token: string,
  ) {
    liveTokens.add(token);
    this.#timer = setInterval(() => this.#beat(), heartbeatMs());
    this.#timer.unref();
  }

  get lost(): boolean {
    return this.#lost;
  }

  #beat(): void {
    if (this.#lost) return;
    const mine = this.#check();
    if (mine === 'lost') return this.#lose();
    if (mine === 'unknown') return; // EMFILE, ESTALE...: look again at the next beat
    if (this.partial) {
      try {
        const st = fs.statSync(this.partialPath);
        if (st.ino !== this.partial.ino || st.dev !== this.partial.dev) return this.#lose();
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return this.#lose(); // swept or adopted by a process that took over
      }
    }
    const now = new Date();
    try {
      fs.utimesSync(this.path, now, now);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) this.#lose();
    }
  }

  /** 'lost' only on proof (gone, or another content); a failure to read proves nothing. */
  #check(): 'ours' | 'lost' | 'unknown' {
    try {
      return fs.readFileSync(this.path, 'utf8') === this.raw ? 'ours' : 'lost';
    } catch (err) {
      return isErrno(err, 'ENOENT') ? 'lost' : 'unknown';
    }
  }

  #lose(): void {
    this.#lost = true;
    this.controller.abort(new LockLostError('fetch lock lost'));
  }

  /** Synchronous check, e.g. right before publishing. */
  throwIfLost(): void {
    if (!this.#lost && this.#check() === 'lost') this.#lose();
    if (this.#lost) throw new LockLostError('fetch lock lost');
  }

  /**
   * Stops the heartbeat and removes the lock if it is still ours (also after a failure that made us give up: the
   * file is what waiters look at). Under the breaker nobody else removes it, so check-then-unlink is safe; if the
   * breaker is busy, by rename-and-compare. Called after the partial's descriptor is closed.
   */
  release(): void {
    clearInterval(this.#timer);
    liveTokens.delete(this.token);
    try {
      const done = withBreaker(this.layout, this.path, () => {
        if (this.#check() === 'ours') unlinkBestEffort(this.path);
      });
      if (done === BUSY && this.#check() === 'ours') removeIfSame(this.layout, this.path, this.raw);
    } catch {
      /* left behind: judged dead (our pid, a token we no longer hold) or stale, and taken over */
    }
  }
}

/**
 * Takes the digest's fetch lock if it is free, dead or stale; undefined while a live holder has it (or while
 * another process is breaking it). A dead or stale lock is removed under the breaker after checking it is still
 * exactly the one judged. The partial is left alone: whoever takes the lock copies it aside (see the module
 * comment), so a holder that was wrongly judged gone cannot reach the bytes we publish.
 */
function tryAcquire(layout: StoreLayout, digest: string): FetchLock | undefined {
  const lockPath = layout.fetchLockPath(digest);
  for (let round = 0; round < 3; round++) {
    const seen = inspectLock(lockPath);
    if (seen.state === 'live') return undefined;
    if (seen.state === 'free') {
      const token = randomToken();
      const raw = lockRecord(token);
      if (createExclusive(layout, lockPath, raw)) {
        observed.delete(lockPath);
        return new FetchLock(layout, lockPath, layout.partialPath(digest), raw, token);
      }
      continue; // someone was faster: look at theirs
    }
    const broken = withBreaker(layout, lockPath, () => {
      const now = readLock(lockPath);
      // Changed since we judged it (a heartbeat, a new holder): not ours to remove, look again.
      if (!now || !sameLock(now, seen)) return false;
      return removeIfSame(layout, lockPath, seen.raw);
    });
    if (broken === BUSY) return undefined; // another process breaks it right now: look again at the next poll
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The download

interface PartialFile {
  fd: number;
  ino: number;
  dev: number;
}

/**
 * Creates a new, empty partial that only we write to. O_EXCL: if a file appeared under that name meanwhile,
 * someone else thinks they hold the digest: start over rather than share it.
 */
function createPartial(layout: StoreLayout, digest: string, lock: FetchLock): PartialFile {
  let fd: number;
  try {
    fd = fs.openSync(layout.partialPath(digest), 'wx', 0o644);
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
function discardPartial(layout: StoreLayout, digest: string): boolean {
  const temp = layout.tempPath('ingest');
  try {
    fs.renameSync(layout.partialPath(digest), temp);
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
async function adoptPartial(
  layout: StoreLayout,
  digest: string,
  lock: FetchLock,
  digesters: Digester[],
  maxLength: number,
): Promise<{ part: PartialFile; length: number }> {
  const aside = layout.tempPath('ingest');
  try {
    fs.renameSync(layout.partialPath(digest), aside);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { part: createPartial(layout, digest, lock), length: 0 };
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
    const part = createPartial(layout, digest, lock);
    const buffer = Buffer.allocUnsafe(HASH_CHUNK);
    let position = 0;
    let sinceYield = 0;
    try {
      while (position < snapshot) {
        const n = fs.readSync(src, buffer, 0, Math.min(HASH_CHUNK, snapshot - position), position);
        if (n === 0) break; // shrank under us (a late writer truncated it): keep what we have
        const chunk = buffer.subarray(0, n);
        for (let off = 0; off < n; ) off += fs.writeSync(part.fd, chunk, off, n - off, position + off);
        for (const d of digesters) d.update(chunk);
        position += n;
        sinceYield += n;
        if (sinceYield >= HASH_YIELD_EVERY) {
          sinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve)); // let the heartbeat run
          lock.throwIfLost();
        }
      }
    } catch (err) {
      fs.closeSync(part.fd);
      throw err instanceof LockLostError ? err : new LocalError(err);
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
  putBack(temp, p);
  unlinkBestEffort(temp);
  return undefined;
}

/** Removes our partial by name, if the name still points at it; false if it does not (taken away). */
function removeOwnPartial(layout: StoreLayout, digest: string, own: PartialFile): boolean {
  const temp = claimOwnPartial(layout, digest, own);
  if (temp) unlinkBestEffort(temp);
  return temp !== undefined;
}

/**
 * Downloads (or resumes) the mote into our own partial and publishes it. Returns its media type once published,
 * or undefined if the blob turned up meanwhile.
 */
async function download(
  ctx: StoreContext,
  fallback: MoteCache,
  digest: string,
  lock: FetchLock,
  notify: (e: FallbackProgress) => void,
): Promise<string | undefined> {
  const { layout } = ctx;
  // Somebody may have published it between our look and our lock.
  if (fs.existsSync(layout.blobPath(digest))) return undefined;
  const info = await fallback.find(digest);
  if (!info) throw new MoteNotFoundError(digest, 'not in the cache nor in its fallback');
  lock.throwIfLost();
  const { algorithm } = parseDigest(digest);
  const size = info.size >= 0 ? info.size : -1;
  const rangeable = isRangeReadable(fallback);

  // Shared with drain(), which advances it chunk by chunk: after a failure mid-stream it says how far we got.
  const st: DownloadState = { offset: 0, digester: createDigester(algorithm) };
  let part: PartialFile;
  let fdOpen = false;
  const closeFd = (): void => {
    if (fdOpen) {
      fdOpen = false;
      fs.closeSync(part.fd);
    }
  };
  /** Start over from 0: our partial is removed by name (never truncated: see the module comment), a new one made. */
  const restart = (): void => {
    closeFd();
    if (!removeOwnPartial(layout, digest, part)) throw new LockLostError('partial taken away');
    part = createPartial(layout, digest, lock);
    fdOpen = true;
    st.offset = 0;
    st.digester = createDigester(algorithm);
    report();
  };
  const report = (): void => notify({ digest, received: st.offset, size });

  try {
    const left = fs.statSync(layout.partialPath(digest), { throwIfNoEntry: false });
    if (left && size >= 0 && left.size > size) {
      // Longer than the mote: not a prefix of it. Nothing to resume, and a wrong size to report.
      discardPartial(layout, digest);
      throw new SizeMismatchError(digest, size, left.size);
    }
    // Reusing bytes only pays when we can ask for the rest, or when they are the whole mote.
    const reusable = left !== undefined && left.size > 0 && (rangeable || size < 0 || left.size === size);
    // Size unknown: a second digester over the reused bytes tells whether they are the whole mote already (a range
    // request from the end would be refused).
    const probe = reusable && size < 0 ? createDigester(algorithm) : undefined;
    if (reusable) {
      const adopted = await adoptPartial(layout, digest, lock, probe ? [st.digester, probe] : [st.digester], size >= 0 ? size : Infinity);
      part = adopted.part;
      st.offset = adopted.length;
    } else {
      if (left) discardPartial(layout, digest);
      part = createPartial(layout, digest, lock);
    }
    fdOpen = true;
    const reusedPrefix = st.offset > 0;
    let prefixRetried = false;
    let ended = probe !== undefined && st.offset > 0 && probe.digest() === digest;
    if (!ended && st.offset > 0 && !rangeable) restart(); // size unknown and not complete: cannot ask for the rest
    report();

    for (;;) {
      let attempts = 0;
      let failures = 0; // consecutive attempts that brought no new byte
      let highWater = st.offset; // the furthest any attempt got: a restart from 0 must beat it to count as progress
      while (size >= 0 ? st.offset < size : !ended) {
        lock.throwIfLost();
        attempts++;
        let opening = true;
        try {
          const source =
            st.offset > 0 && rangeable
              ? await fallback.moteReaderFrom(digest, st.offset, { signal: lock.controller.signal })
              : await fallback.moteReader(digest);
          opening = false;
          await drain(source, part.fd, st, size, digest, lock, report, layout.root, ctx.durable);
          if (size >= 0 && st.offset < size) throw new ShortStreamError(`the fallback's stream ended after ${st.offset} of ${size} bytes`);
          ended = true;
        } catch (err) {
          if (err instanceof LocalError) throw err.inner;
          if (err instanceof LockLostError || lock.lost) throw new LockLostError('fetch lock lost');
          if (isFatal(err, opening)) {
            if (codeOf(err) === 'ABORT_ERR' || (err as Error).name === 'AbortError') throw asAbort(err);
            // The fallback says the bytes are wrong: those already written cannot be trusted either. (A fallback's
            // NoSpaceError is fatal too, but our bytes are fine: they stay for a resume.)
            if (err instanceof SizeMismatchError || err instanceof DigestMismatchError) {
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
          if (!rangeable && st.offset > 0) restart();
          await sleep(Math.min(1_000, 25 * 2 ** failures));
        }
      }

      const actual = st.digester.digest();
      const onDisk = localSync(() => fs.fstatSync(part.fd).size, layout.root);
      if ((size < 0 || st.offset === size) && onDisk === st.offset && actual === digest) break;
      if (reusedPrefix && !prefixRetried && actual !== digest) {
        // The bytes we reused from disk were wrong (a power loss can leave zeros at the end of a file whose
        // writeback had not happened; someone may have written into it): one more time, all from the fallback.
        prefixRetried = true;
        restart();
        ended = false;
        continue;
      }
      closeFd();
      removeOwnPartial(layout, digest, part); // never resumed, never published
      if (size >= 0 && st.offset !== size) throw new SizeMismatchError(digest, size, st.offset);
      if (onDisk !== st.offset) throw new SizeMismatchError(digest, st.offset, onDisk);
      throw new DigestMismatchError(digest, actual);
    }

    // Still ours? Checked before changing anything about the file.
    lock.throwIfLost();
    // Read-only like every blob, then data fsync BEFORE the rename: the blob name must never point at bytes that
    // a crash could still lose. fchmod first so the mode is in the same journal state as the data.
    localSync(() => {
      fs.fchmodSync(part.fd, 0o444);
      if (ctx.durable) fs.fsyncSync(part.fd);
    }, layout.root);
    closeFd();
    lock.partial = undefined; // we are about to move it ourselves
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
    return info.mediaType;
  } catch (err) {
    throw err instanceof LocalError ? err.inner : err;
  } finally {
    closeFd();
  }
}

/** Runs a local filesystem step: ENOSPC/EDQUOT become NoSpaceError. */
function localSync<T>(fn: () => T, root: string): T {
  try {
    return fn();
  } catch (err) {
    throw asStoreError(err, root);
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


// ---------------------------------------------------------------------------------------------------------------
// The sweep

/**
 * Part of `sweepTemporaries` (so `initialize()` and `verify()`): removes partials older than `staleAfterMs` whose
 * lock is not live (none, dead or stale), locks whose holder is dead or that nobody touched for `staleAfterMs`
 * (with their partial), and breakers left by a crash. Every removal happens under the digest's breaker after
 * looking again, and partials go by name: a holder we misjudged notices (its heartbeat checks its partial's
 * inode) and its bytes are never published. The sweep looks once, so staleness is the mtime's age here, never
 * less than LOCK_STALE_MS. Returns how many files were removed.
 */
export function sweepFetchState(layout: StoreLayout, staleAfterMs: number): number {
  let swept = 0;
  const now = Date.now();
  const wallStale = Math.max(staleAfterMs, lockStaleMs());
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
      const lockPath = layout.fetchLockPath(digest);
      if (inspectLock(lockPath, wallStale).state === 'live') continue;
      const st = fs.lstatSync(layout.partialPath(digest));
      if (now - Math.max(st.mtimeMs, st.ctimeMs) < staleAfterMs) continue;
      // Checked again under the breaker: a holder that took the lock since must keep its partial.
      const done = withBreaker(
        layout,
        lockPath,
        () => inspectLock(lockPath, wallStale).state !== 'live' && discardPartial(layout, digest),
        wallStale,
      );
      if (done === true) swept++;
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
    try {
      if (name.endsWith('.lock.break')) {
        // A breaker is held for microseconds: one this old, or whose holder is dead, was left by a crash.
        const p = path.join(layout.fetchDir, name);
        const seen = inspectLock(p, wallStale);
        if ((seen.state === 'dead' || seen.state === 'stale') && removeIfSame(layout, p, seen.raw)) swept++;
        continue;
      }
      if (!name.endsWith('.lock')) continue;
      const digest = digestOfName(name.slice(0, -'.lock'.length));
      if (!digest) continue;
      const lockPath = layout.fetchLockPath(digest);
      const seen = inspectLock(lockPath, wallStale);
      if (seen.state === 'free' || seen.state === 'live') continue;
      const done = withBreaker(
        layout,
        lockPath,
        () => {
          const again = readLock(lockPath);
          if (!again || !sameLock(again, seen) || !removeIfSame(layout, lockPath, seen.raw)) return 0;
          // Removed (confirmed). A dead holder's partial stays for a resume (the partial pass sweeps it by age);
          // a stale one's goes too, by name: its holder may be frozen, not dead, and must not find it again (it
          // would notice anyway: its heartbeat and its publish check the inode).
          return 1 + (seen.state === 'stale' && discardPartial(layout, digest) ? 1 : 0);
        },
        wallStale,
      );
      if (done !== BUSY) swept += done;
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
