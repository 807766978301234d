/**
 * A held fetch lock (`.mote/fetch/<alg>-<encoded>.lock`): taken when free, dead or stale, touched every heartbeat
 * by its holder, and noticed when lost (its file gone or replaced, or its partial taken away).
 *
 * Why an own lock and not proper-lockfile (which prune uses): proper-lockfile can only tell a dead holder by the
 * mtime of its lock, so a waiter would sit for seconds after a SIGKILL. Here the lock names its holder: a waiter
 * in the same pid namespace and boot (recorded in the lock) takes over as soon as the holder's pid is gone.
 * Anything else (another host, another container, a frozen holder) is judged by the heartbeat: a waiter that sees
 * neither content nor mtime of the lock change for the stale time of its own monotonic clock takes over. The
 * remote mtime is never compared with the local clock (except by the hour-scale sweep).
 */
import fs from 'node:fs';
import { isErrno } from '../../internal/errno.js';
import { unlinkBestEffort } from '../../internal/fs.js';
import type { StorePaths } from '../file/paths.js';
import { LockLostError } from './failures.js';
import {
  BUSY,
  createExclusive,
  forgetObserved,
  inspectLock,
  liveTokens,
  lockRecord,
  randomToken,
  readLock,
  removeIfSame,
  sameLock,
  withBreaker,
} from './lock-file.js';
import { heartbeatMs } from './options.js';

/** A held fetch lock: touched every HEARTBEAT_MS; notices when it, or its partial, was taken away. */
export class FetchLock {
  readonly controller = new AbortController();
  /** Our partial, once created: the heartbeat checks that its name still points at this inode. */
  partial: { ino: number; dev: number } | undefined;
  #lost = false;
  readonly #timer: NodeJS.Timeout;

  constructor(
    readonly paths: StorePaths,
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
    let done: unknown = BUSY;
    try {
      done = withBreaker(this.paths, this.path, () => {
        if (this.#check() === 'ours') unlinkBestEffort(this.path);
      });
    } catch {
      /* the breaker could not be made (a full disk: it is a file with content): by rename-and-compare, below */
    }
    try {
      if (done === BUSY && this.#check() === 'ours') removeIfSame(this.paths, this.path, this.raw);
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
export function tryAcquire(paths: StorePaths, digest: string): FetchLock | undefined {
  const lockPath = paths.fetchLockPath(digest);
  for (let round = 0; round < 3; round++) {
    const seen = inspectLock(lockPath);
    if (seen.state === 'live') return undefined;
    if (seen.state === 'free') {
      const token = randomToken();
      const raw = lockRecord(token);
      if (createExclusive(paths, lockPath, raw)) {
        forgetObserved(lockPath);
        return new FetchLock(paths, lockPath, paths.partialPath(digest), raw, token);
      }
      continue; // someone was faster: look at theirs
    }
    const broken = withBreaker(paths, lockPath, () => {
      const now = readLock(lockPath);
      // Changed since we judged it (a heartbeat, a new holder): not ours to remove, look again.
      if (!now || !sameLock(now, seen)) return false;
      return removeIfSame(paths, lockPath, seen.raw);
    });
    if (broken === BUSY) return undefined; // another process breaks it right now: look again at the next poll
  }
  return undefined;
}
