/**
 * The files of the cross-process fetch lock: what a lock records (who holds it), reading and judging one (free,
 * live, dead or stale), creating one exclusively, removing one only if it is still the one judged, and the
 * breaker that serializes removals. See `lock.ts` for the lock's life and `fetch.ts` for why it is safe.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { isErrno } from '../../internal/errno.js';
import { putBack, unlinkBestEffort } from '../../internal/fs.js';
import { BOOT_ID, HOST, PID_NS, pidAlive } from '../../internal/process.js';
import type { StorePaths } from '../file/paths.js';
import { lockStaleMs } from './options.js';

/**
 * Per-process (per thread) state shared by every copy of this module loaded in it (two bundled copies, a test's
 * fresh import): a copy that did not know the other's locks would judge them dead and take them over.
 */
const SHARED = globalThis as unknown as Record<symbol, unknown>;
/** Tokens of the locks this thread holds now. */
export const liveTokens = (SHARED[Symbol.for('motecache.fetch.liveTokens')] ??= new Set<string>()) as Set<string>;
/** Prefix of every token this thread issues: an own-pid token without it was not issued here (another thread). */
const TOKEN_PREFIX = (SHARED[Symbol.for('motecache.fetch.tokenPrefix')] ??= randomBytes(6).toString('hex')) as string;

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
export interface SeenLock {
  raw: string;
  mtimeMs: number;
  ino: number;
}

export type LockState = { state: 'free' } | ({ state: 'live' | 'dead' | 'stale' } & SeenLock);

export function readLock(p: string): SeenLock | undefined {
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

export function sameLock(a: SeenLock, b: SeenLock): boolean {
  return a.raw === b.raw && a.mtimeMs === b.mtimeMs && a.ino === b.ino;
}

/** What this process saw of each lock it waits on, and since when (monotonic): see {@link inspectLock}. */
const observed = new Map<string, { seen: SeenLock; since: number }>();

/** Forgets what this process saw of a lock (we created a new one under that name). */
export function forgetObserved(lockPath: string): void {
  observed.delete(lockPath);
}

/**
 * What the lock at `lockPath` is: `free` (none), `live`, `dead` (its holder is gone: same host, pid namespace and
 * boot, and its pid is not running, or it is a lock this thread issued and no longer holds) or `stale`.
 *
 * Stale, for a waiter: neither content nor mtime changed during LOCK_STALE_MS of our own monotonic clock (a
 * holder touches it every HEARTBEAT_MS), so clock skew between hosts does not matter. `wallStaleMs` (the sweep,
 * which looks once) judges by the mtime's age instead, with a bound of an hour by default.
 */
export function inspectLock(lockPath: string, wallStaleMs?: number): LockState {
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
export function createExclusive(paths: StorePaths, p: string, raw: string): boolean {
  const temp = paths.tempPath('lock');
  try {
    // Inside the try: on a full disk the file is created and the write fails, and the temporary must not stay.
    fs.writeFileSync(temp, raw, { flag: 'wx', mode: 0o644 });
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
  } catch (err) {
    fs.closeSync(fd);
    unlinkBestEffort(p); // ours (created 'wx' just now), and half-written: judged by age alone otherwise
    throw err;
  }
  fs.closeSync(fd);
  return true;
}

/**
 * Removes the file at `p` if it still has the content judged (the token makes it unique). Renamed away first,
 * then compared: a plain unlink after the check could remove a file created in between. A newer file renamed
 * by mistake is put back (link: never over one created meanwhile; rename where there are no hard links).
 */
export function removeIfSame(paths: StorePaths, p: string, judgedRaw: string): boolean {
  const tomb = paths.tempPath('lock');
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

export const BUSY = Symbol('busy');

/**
 * Runs `fn` holding the digest's breaker (`<lock>.break`, created exclusively): at most one process at a time
 * removes that digest's lock or sweeps its partial, and it re-inspects under the breaker, so two waiters that
 * both judged the same lock dead cannot remove each other's fresh locks in turn. Returns BUSY if someone else
 * holds it. The breaker is held only across synchronous code, so one that stays unchanged for LOCK_STALE_MS (or
 * whose holder is dead) was left by a crash and is removed.
 */
export function withBreaker<T>(paths: StorePaths, lockPath: string, fn: () => T, wallStaleMs?: number): T | typeof BUSY {
  const breaker = `${lockPath}.break`;
  const raw = lockRecord(randomToken());
  if (!createExclusive(paths, breaker, raw)) {
    const seen = inspectLock(breaker, wallStaleMs);
    if (seen.state === 'dead' || seen.state === 'stale') removeIfSame(paths, breaker, seen.raw);
    return BUSY;
  }
  try {
    return fn();
  } finally {
    // Nobody removes a breaker that is this young (see above), so check-then-unlink cannot hit another's.
    if (readLock(breaker)?.raw === raw) unlinkBestEffort(breaker);
  }
}

export function randomToken(): string {
  return TOKEN_PREFIX + randomBytes(12).toString('hex');
}

export function lockRecord(token: string): string {
  const rec: LockRecord = { pid: process.pid, thread: threadId, host: HOST, token, since: Date.now() };
  if (PID_NS !== undefined) rec.ns = PID_NS;
  if (BOOT_ID !== undefined) rec.boot = BOOT_ID;
  return JSON.stringify(rec);
}

