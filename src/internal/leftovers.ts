/**
 * Leftovers of writers that died (SIGKILL, OOM, power loss) in the middle of a write: the hidden
 * temporaries they named with {@link siblingTemp} (`.<name>.<pid>-<random>.mote-tmp` / `.mote-extract`) beside
 * the destination, beside `index.json`, and beside blobs in `blobs/<alg>/`. Their lock (`<dest>.lock`) is
 * proper-lockfile's: it goes stale 30 s after its holder stopped refreshing it, and the next writer takes it over.
 *
 * Sweeping happens at the start of a write, holding the destination's lock. Every writer creates its temporaries
 * only while holding that lock, so a temporary found then belongs to a writer that no longer holds it: one that
 * died, or (the only other case) one alive but stalled past the stale time, whose lock was taken over. The pid in
 * the name tells them apart: a temporary whose owner is running is kept. (A pid read in another pid namespace, or
 * on another host of a network filesystem, may look dead while its owner is alive and stalled: that owner's
 * later rename then fails, it never publishes anything wrong.) Temporaries of the older, pid-less form are
 * removed once their mtime is {@link PIDLESS_STALE_MS} old (mtime alone: a blob temporary hard-linked from an
 * old mote has an old mtime from birth, but such a writer would be one whose lock was taken over, and removing
 * its temporary only makes its rename fail).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseSiblingTemp } from './fs.js';
import { pidAlive } from './process.js';

/** A pid-less temporary untouched this long is abandoned (its writer would have refreshed its lock 120 times). */
const PIDLESS_STALE_MS = 10 * 60_000;

/**
 * Removes, in `dir`, the temporaries of dead writers whose target name `forTarget` accepts; returns how many.
 * Never follows a link (a temporary that is one is removed as a name); errors are swallowed: a sweep is a
 * courtesy, the write that runs it must not fail because of it.
 */
export async function sweepLeftovers(dir: string, forTarget: (target: string) => boolean): Promise<number> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    return 0;
  }
  let swept = 0;
  const now = Date.now();
  for (const name of names) {
    const temp = parseSiblingTemp(name);
    if (!temp || !forTarget(temp.target)) continue;
    const p = path.join(dir, name);
    try {
      if (temp.pid !== undefined) {
        if (temp.pid === process.pid || pidAlive(temp.pid)) continue;
      } else {
        const st = await fs.promises.lstat(p);
        if (now - st.mtimeMs < PIDLESS_STALE_MS) continue;
      }
      await fs.promises.rm(p, { recursive: true, force: true });
      swept++;
    } catch {
      /* vanished meanwhile, or not ours to remove: left for a later sweep */
    }
  }
  return swept;
}
