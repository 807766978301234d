import fs from 'node:fs';
import type Database from 'better-sqlite3';
import { openSqlite } from '../../internal/sqlite.js';
import { DEFAULT_MEDIA_TYPE } from '../../oci/media-types.js';

interface Row {
  media_type: string;
  last_used: number;
}

/** What the store needs from its index. Every method may be called at any time; none is the truth. */
export interface MoteIndex {
  /** Records a write: the media type (unless default) and a use. */
  recordWrite(digest: string, mediaType: string, at: number): void;
  /** Records a use (read, or a write of a mote that was already there). */
  recordUse(digest: string, at: number): void;
  /**
   * Records the media type of a mote already in the store only where none is known yet (no row, or the default):
   * what a pull-through fetch of a present mote knows from its manifest. A known type is kept.
   */
  recordTypeIfUnknown(digest: string, mediaType: string, at: number): void;
  get(digest: string): { mediaType: string; lastUsed: number } | undefined;
  lastUsed(digest: string): number | undefined;
  delete(digest: string): void;
  /** Deletes many rows in one transaction (prune, verify). */
  deleteMany(digests: readonly string[]): void;
  /** Every row, for walks that need media types or last uses of many motes at once. */
  all(): Map<string, { mediaType: string; lastUsed: number }>;
  close(): void;
}

/** The index of a store whose index file cannot be opened at all (e.g. `.mote/index.db` is a directory). */
export class NullMoteIndex implements MoteIndex {
  recordWrite(): void {}
  recordUse(): void {}
  recordTypeIfUnknown(): void {}
  get(): undefined {
    return undefined;
  }
  lastUsed(): undefined {
    return undefined;
  }
  delete(): void {}
  deleteMany(): void {}
  all(): Map<string, { mediaType: string; lastUsed: number }> {
    return new Map();
  }
  close(): void {}
}

interface Statements {
  upsert: Database.Statement;
  touch: Database.Statement;
  fillType: Database.Statement;
  insertIgnore: Database.Statement;
  get: Database.Statement;
  lastUsed: Database.Statement;
  delete: Database.Statement;
  all: Database.Statement;
}

/**
 * The mote index: media type and last use per digest, in SQLite (WAL, one connection per instance, several
 * processes on one file). It is a hint, never the truth: the blob files decide presence and content. So a lost
 * or corrupt index is recreated empty (motes then read as `application/octet-stream`, last use = file mtime),
 * and failures to record a use never fail the operation that caused them.
 *
 * Corruption is not always visible when the file is opened (SQLite reads pages lazily: a damaged row page
 * surfaces on the first query that touches it), so every call heals: on SQLITE_CORRUPT / SQLITE_NOTADB the file is
 * moved aside, a fresh one is created, and the call is retried (writes) or answers "unknown" (reads).
 *
 * Why SQLite and not an append-only log: the LRU needs "last use by any process"; a log needs compaction that
 * races with appenders, and a sidecar file per mote doubles the file creations of a put (the dominant cost).
 * One UPDATE here costs ~25 µs; creating a file on ext4 400-700 µs.
 */
export class SqliteMoteIndex implements MoteIndex {
  readonly #file: string;
  readonly #durable: boolean;
  #db!: Database.Database;
  #q!: Statements;

  constructor(file: string, durable: boolean) {
    this.#file = file;
    this.#durable = durable;
    this.#attach(openOrRecreate(file, durable));
  }

  #attach(db: Database.Database): void {
    this.#db = db;
    this.#q = {
      // A known media type is never overwritten by the default one (a later `put` without a media type).
      upsert: db.prepare(
        `INSERT INTO motes (digest, media_type, last_used) VALUES (?, ?, ?)
         ON CONFLICT (digest) DO UPDATE SET last_used = excluded.last_used,
           media_type = CASE WHEN excluded.media_type = '${DEFAULT_MEDIA_TYPE}' THEN media_type ELSE excluded.media_type END`,
      ),
      touch: db.prepare('UPDATE motes SET last_used = ? WHERE digest = ?'),
      fillType: db.prepare(
        `INSERT INTO motes (digest, media_type, last_used) VALUES (?, ?, ?)
         ON CONFLICT (digest) DO UPDATE SET media_type = excluded.media_type WHERE media_type = '${DEFAULT_MEDIA_TYPE}'`,
      ),
      insertIgnore: db.prepare('INSERT OR IGNORE INTO motes (digest, media_type, last_used) VALUES (?, ?, ?)'),
      get: db.prepare('SELECT media_type, last_used FROM motes WHERE digest = ?'),
      lastUsed: db.prepare('SELECT last_used FROM motes WHERE digest = ?').pluck(),
      delete: db.prepare('DELETE FROM motes WHERE digest = ?'),
      all: db.prepare('SELECT digest, media_type, last_used FROM motes'),
    };
  }

  /** Runs `fn`; if the file turns out corrupt, replaces it with an empty one and answers `onLost()`. */
  #heal<T>(fn: () => T, onLost: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!isCorruption(err)) throw err;
      if (this.#db.open) this.#db.close();
      moveAside(this.#file);
      this.#attach(openOrRecreate(this.#file, this.#durable));
      return onLost();
    }
  }

  recordWrite(digest: string, mediaType: string, at: number): void {
    const run = (): void => void this.#q.upsert.run(digest, mediaType || DEFAULT_MEDIA_TYPE, at);
    this.#heal(run, run);
  }

  recordUse(digest: string, at: number): void {
    const run = (): void => {
      if (this.#q.touch.run(at, digest).changes === 0) this.#q.insertIgnore.run(digest, DEFAULT_MEDIA_TYPE, at);
    };
    this.#heal(run, run);
  }

  recordTypeIfUnknown(digest: string, mediaType: string, at: number): void {
    if (!mediaType || mediaType === DEFAULT_MEDIA_TYPE) return;
    const run = (): void => void this.#q.fillType.run(digest, mediaType, at);
    this.#heal(run, run);
  }

  get(digest: string): { mediaType: string; lastUsed: number } | undefined {
    return this.#heal(
      () => {
        const row = this.#q.get.get(digest) as Row | undefined;
        return row && { mediaType: row.media_type, lastUsed: row.last_used };
      },
      () => undefined,
    );
  }

  lastUsed(digest: string): number | undefined {
    return this.#heal(
      () => this.#q.lastUsed.get(digest) as number | undefined,
      () => undefined,
    );
  }

  delete(digest: string): void {
    this.#heal(
      () => void this.#q.delete.run(digest),
      () => undefined, // a fresh index has no row to delete
    );
  }

  deleteMany(digests: readonly string[]): void {
    if (digests.length === 0) return;
    this.#heal(
      () =>
        this.#db.transaction((ds: readonly string[]) => {
          for (const d of ds) this.#q.delete.run(d);
        })(digests),
      () => undefined,
    );
  }

  all(): Map<string, { mediaType: string; lastUsed: number }> {
    return this.#heal(
      () => {
        const out = new Map<string, { mediaType: string; lastUsed: number }>();
        for (const row of this.#q.all.iterate() as Iterable<Row & { digest: string }>) {
          out.set(row.digest, { mediaType: row.media_type, lastUsed: row.last_used });
        }
        return out;
      },
      () => new Map(),
    );
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code);
}

/** A cache index may be thrown away: move the damaged file aside (for a post-mortem) and start empty. */
function moveAside(file: string): void {
  const stamp = `${Date.now()}-${process.pid}`;
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      fs.renameSync(file + suffix, `${file}.corrupt-${stamp}${suffix}`);
    } catch {
      /* absent */
    }
  }
}

function open(file: string, durable: boolean): Database.Database {
  const db = openSqlite(file, { timeout: 15_000 });
  try {
    db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a power loss may drop the last transactions but never corrupts; the index is a hint.
    db.pragma(`synchronous = ${durable ? 'NORMAL' : 'OFF'}`);
    db.exec(
      `CREATE TABLE IF NOT EXISTS motes (
         digest TEXT PRIMARY KEY,
         media_type TEXT NOT NULL,
         last_used INTEGER NOT NULL
       ) WITHOUT ROWID`,
    );
    db.prepare('SELECT count(*) FROM motes LIMIT 1').get();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function openOrRecreate(file: string, durable: boolean): Database.Database {
  try {
    return open(file, durable);
  } catch (err) {
    if (!isCorruption(err)) throw err;
    moveAside(file);
    return open(file, durable);
  }
}

/** After the index failed to open, try again at most this often (the failure may have been transient). */
const INDEX_RETRY_MS = 60_000;

/**
 * The index of one store, opened on first use. If it cannot be opened at all (not corruption, which heals itself,
 * but say `.mote/index.db` being a directory or unreadable), the store goes on without one: it is only a hint, and
 * blobs, reads, writes and prune (by mtime) do not need it. Opening is tried again after INDEX_RETRY_MS.
 */
export class LazyMoteIndex {
  readonly #file: string;
  readonly #durable: boolean;
  #index: MoteIndex | undefined;
  #failedAt = 0;

  constructor(file: string, durable: boolean) {
    this.#file = file;
    this.#durable = durable;
  }

  get(): MoteIndex {
    if (this.#index instanceof NullMoteIndex && Date.now() - this.#failedAt >= INDEX_RETRY_MS) this.#index = undefined;
    if (!this.#index) {
      try {
        this.#index = new SqliteMoteIndex(this.#file, this.#durable);
      } catch (err) {
        this.#failedAt = Date.now();
        process.emitWarning(
          `motecache: the mote index at ${this.#file} cannot be opened (${String(err)}); going on without it: media types read as ${DEFAULT_MEDIA_TYPE} and prune orders by file mtime`,
          { code: 'MOTECACHE_INDEX' },
        );
        this.#index = new NullMoteIndex();
      }
    }
    return this.#index;
  }

  /** Closes the index; the next `get()` opens it again. */
  close(): void {
    this.#index?.close();
    this.#index = undefined;
  }
}
