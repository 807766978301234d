/**
 * Self-healing for motecache's own SQLite files (the blob-info cache, the metadata store): they are caches, so a
 * damaged file is moved aside (with its -wal and -shm, kept for a post-mortem), a warning says so, and an empty
 * one is built in its place, instead of failing every call forever. Any other SQLite failure is typed by the owner.
 */
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import { isCorruption, isSqliteError } from './sqlite.js';

export interface HealingFile {
  path: string;
  /** How the warning names it: "blob-info cache /path/file". */
  what: string;
  /** The warning's code (`MOTECACHE_BLOBINFO_REBUILT`). */
  warningCode: string;
  /** Opens (creating) the file. */
  open: () => Database.Database;
  /** The owner's typed error for a failure that is not corruption. */
  unavailable: (err: unknown) => unknown;
}

function moveAside(f: HealingFile, cause: unknown): void {
  const aside = `${f.path}.corrupt-${Date.now()}-${process.pid}`;
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      fs.renameSync(f.path + suffix, aside + suffix);
    } catch {
      /* absent */
    }
  }
  const why = cause instanceof Error ? cause.message : String(cause);
  process.emitWarning(`motecache: ${f.what} was unreadable (${why}); moved to ${aside} and rebuilt empty`, { code: f.warningCode });
}

/** Opens the file; a damaged one is moved aside and rebuilt once. */
export function openOrRebuild(f: HealingFile): Database.Database {
  try {
    return f.open();
  } catch (err) {
    if (!isCorruption(err)) throw f.unavailable(err);
    moveAside(f, err);
    try {
      return f.open();
    } catch (err2) {
      throw f.unavailable(err2);
    }
  }
}

/**
 * Runs `fn` on `current`; on corruption closes it, moves the file aside, hands a rebuilt database to `attach` and
 * runs `fn` once more. SQLite's other failures are the owner's typed error; anything else passes through.
 */
export function healing<T>(f: HealingFile, current: Database.Database, attach: (db: Database.Database) => void, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!isCorruption(err)) throw isSqliteError(err) ? f.unavailable(err) : err;
    if (current.open) current.close();
    moveAside(f, err);
    attach(openOrRebuild(f));
    try {
      return fn();
    } catch (err2) {
      throw isSqliteError(err2) ? f.unavailable(err2) : err2;
    }
  }
}
