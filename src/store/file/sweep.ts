import fs from 'node:fs';
import path from 'node:path';
import { pidAlive } from '../../internal/process.js';
import type { StorePaths } from './paths.js';

/**
 * Removes abandoned state of its own under a store root (the pull-through's partial downloads and locks); returns
 * the count. `reclaim` (prune, verify: asked to give space back) removes what no live owner holds whatever its age;
 * otherwise (first use, initialize) only what was left longer than `staleAfterMs` ago, so a later run can resume it.
 */
export type Sweeper = (paths: StorePaths, staleAfterMs: number, reclaim: boolean) => number;

/**
 * Removes temporaries older than `staleAfterMs` (after running `others`, which sweep state that is not in
 * `.mote/tmp/`). Age is taken from ctime as well as mtime: a read link shares its inode (and so its mtime) with a
 * blob that may be years old, but link() just bumped its ctime; an ingest temporary has both bumped by every write.
 * Never wipes the whole folder (cacache's cleanTmp breaks writers). A temporary whose owner (the pid its name
 * starts with) is still running is kept whatever its age: a read or a stalled write may legitimately last longer
 * than `staleAfterMs`. (Across pid namespaces a reused pid can only delay a sweep, never cause a wrong one.)
 * Returns how many files were removed.
 */
export function sweepTemporaries(paths: StorePaths, staleAfterMs: number, others: readonly Sweeper[] = [], reclaim = false): number {
  let swept = 0;
  for (const sweep of others) swept += sweep(paths, staleAfterMs, reclaim);
  let names: string[];
  try {
    names = fs.readdirSync(paths.tmpDir);
  } catch {
    return swept;
  }
  const now = Date.now();
  for (const name of names) {
    const p = path.join(paths.tmpDir, name);
    try {
      const st = fs.lstatSync(p);
      // `staleAfterMs` 0 means any age: a file written in this very millisecond can carry an mtime a little ahead of
      // Date.now() (the filesystem's clock is finer), and must not be judged younger than zero.
      if ((staleAfterMs <= 0 || now - Math.max(st.mtimeMs, st.ctimeMs) >= staleAfterMs) && !ownerAlive(name)) {
        fs.rmSync(p, { force: true, recursive: true });
        swept++;
      }
    } catch {
      /* vanished meanwhile: someone else swept or committed it */
    }
  }
  return swept;
}

/** Whether the process whose pid starts a temporary's name (`<pid>-<random>.<kind>`) is still running. */
function ownerAlive(name: string): boolean {
  return pidAlive(Number(/^(\d+)-/.exec(name)?.[1]));
}
