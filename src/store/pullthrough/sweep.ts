/**
 * Sweeping abandoned pull-through state (part of the store's temporaries sweep, so `initialize()` and `verify()`):
 * partials nobody will resume, locks of dead or stale holders, breakers left by a crash.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDigest } from '../../digest/index.js';
import type { StorePaths } from '../file/paths.js';
import { BUSY, inspectLock, readLock, removeIfSame, sameLock, withBreaker } from './lock-file.js';
import { lockStaleMs } from './options.js';
import { discardPartial } from './partial.js';

/**
 * Part of `sweepTemporaries` (so first use, `initialize()`, `prune()` and `verify()`): removes partials whose lock is
 * not live (none, dead or stale) that are older than `staleAfterMs`, or of any age with `reclaim` (prune and verify,
 * asked to give space back: a failed download's partial would otherwise stay in the way for an hour, e.g. on a
 * full disk), locks whose holder is dead or that nobody touched for `staleAfterMs` (with their partial), and
 * breakers left by a crash. A partial under a live lock is never touched, whatever `reclaim` says. Every removal happens under the digest's breaker after
 * looking again, and partials go by name: a holder we misjudged notices (its heartbeat checks its partial's
 * inode) and its bytes are never published. The sweep looks once, so staleness is the mtime's age here, never
 * less than LOCK_STALE_MS. Returns how many files were removed.
 */
export function sweepFetchState(paths: StorePaths, staleAfterMs: number, reclaim = false): number {
  let swept = 0;
  const now = Date.now();
  const wallStale = Math.max(staleAfterMs, lockStaleMs());
  let partials: string[] = [];
  try {
    partials = fs.readdirSync(paths.partialDir);
  } catch {
    /* never populated */
  }
  for (const name of partials) {
    const digest = digestOfName(name);
    if (!digest) continue; // not ours
    try {
      const lockPath = paths.fetchLockPath(digest);
      if (inspectLock(lockPath, wallStale).state === 'live') continue;
      const st = fs.lstatSync(paths.partialPath(digest));
      if (!reclaim && staleAfterMs > 0 && now - Math.max(st.mtimeMs, st.ctimeMs) < staleAfterMs) continue; // 0: any age
      // Checked again under the breaker: a holder that took the lock since must keep its partial.
      const done = withBreaker(
        paths,
        lockPath,
        () => inspectLock(lockPath, wallStale).state !== 'live' && discardPartial(paths, digest),
        wallStale,
      );
      if (done === true) swept++;
    } catch {
      /* vanished meanwhile */
    }
  }
  let locks: string[] = [];
  try {
    locks = fs.readdirSync(paths.fetchDir);
  } catch {
    /* never populated */
  }
  for (const name of locks) {
    try {
      if (name.endsWith('.lock.break')) {
        // A breaker is held for microseconds: one this old, or whose holder is dead, was left by a crash.
        const p = path.join(paths.fetchDir, name);
        const seen = inspectLock(p, wallStale);
        if ((seen.state === 'dead' || seen.state === 'stale') && removeIfSame(paths, p, seen.raw)) swept++;
        continue;
      }
      if (!name.endsWith('.lock')) continue;
      const digest = digestOfName(name.slice(0, -'.lock'.length));
      if (!digest) continue;
      const lockPath = paths.fetchLockPath(digest);
      const seen = inspectLock(lockPath, wallStale);
      if (seen.state === 'free' || seen.state === 'live') continue;
      const done = withBreaker(
        paths,
        lockPath,
        () => {
          const again = readLock(lockPath);
          if (!again || !sameLock(again, seen) || !removeIfSame(paths, lockPath, seen.raw)) return 0;
          // Removed (confirmed). A dead holder's partial stays for a resume (the partial pass sweeps it by age);
          // a stale one's goes too, by name: its holder may be frozen, not dead, and must not find it again (it
          // would notice anyway: its heartbeat and its publish check the inode).
          return 1 + (seen.state === 'stale' && discardPartial(paths, digest) ? 1 : 0);
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
