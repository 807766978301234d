import fs from 'node:fs';
import Database from 'better-sqlite3';

export const DEFAULT_MEDIA_TYPE = 'application/octet-stream';

interface Row {
  media_type: string;
  last_used: number;
}

/**
 * The mote index: media type and last use per digest, in SQLite (WAL, one connection per instance, several
 * processes on one file). It is a hint, never the truth: the blob files decide presence and content. So a lost
 * or corrupt index is recreated empty (motes then read as `application/octet-stream`, last use = file mtime),
 * and failures to record a use never fail the operation that caused them.
 *
 * Why SQLite and not an append-only log: the LRU needs "last use by any process"; a log needs compaction that
 * races with appenders, and a sidecar file per mote doubles the file creations of a put (the dominant cost).
 * One UPDATE here costs ~25 µs; creating a file on ext4 400-700 µs.
 */
export class MoteIndex {
  #db: Database.Database;
  #upsert: Database.Statement;
  #touch: Database.Statement;
  #insertIgnore: Database.Statement;
  #get: Database.Statement;
  #lastUsed: Database.Statement;
  #delete: Database.Statement;
  #all: Database.Statement;

  constructor(file: string, durable: boolean) {
    this.#db = openOrRecreate(file, durable);
    const db = this.#db;
    // A known media type is never overwritten by the default one (a later `put` without a media type).
    this.#upsert = db.prepare(
      `INSERT INTO motes (digest, media_type, last_used) VALUES (?, ?, ?)
       ON CONFLICT (digest) DO UPDATE SET last_used = excluded.last_used,
         media_type = CASE WHEN excluded.media_type = '${DEFAULT_MEDIA_TYPE}' THEN media_type ELSE excluded.media_type END`,
    );
    this.#touch = db.prepare('UPDATE motes SET last_used = ? WHERE digest = ?');
    this.#insertIgnore = db.prepare('INSERT OR IGNORE INTO motes (digest, media_type, last_used) VALUES (?, ?, ?)');
    this.#get = db.prepare('SELECT media_type, last_used FROM motes WHERE digest = ?');
    this.#lastUsed = db.prepare('SELECT last_used FROM motes WHERE digest = ?').pluck();
    this.#delete = db.prepare('DELETE FROM motes WHERE digest = ?');
    this.#all = db.prepare('SELECT digest, media_type, last_used FROM motes');
  }

  /** Records a write: the media type (unless default) and a use. */
  recordWrite(digest: string, mediaType: string, at: number): void {
    this.#upsert.run(digest, mediaType || DEFAULT_MEDIA_TYPE, at);
  }

  /** Records a use (read, or a write of a mote that was already there). */
  recordUse(digest: string, at: number): void {
    if (this.#touch.run(at, digest).changes === 0) this.#insertIgnore.run(digest, DEFAULT_MEDIA_TYPE, at);
  }

  get(digest: string): { mediaType: string; lastUsed: number } | undefined {
    const row = this.#get.get(digest) as Row | undefined;
    return row && { mediaType: row.media_type, lastUsed: row.last_used };
  }

  lastUsed(digest: string): number | undefined {
    return this.#lastUsed.get(digest) as number | undefined;
  }

  delete(digest: string): void {
    this.#delete.run(digest);
  }

  /** Deletes many rows in one transaction (prune, verify). */
  deleteMany(digests: readonly string[]): void {
    if (digests.length === 0) return;
    this.#db.transaction((ds: readonly string[]) => {
      for (const d of ds) this.#delete.run(d);
    })(digests);
  }

  /** Every row, for walks that need media types or last uses of many motes at once. */
  all(): Map<string, { mediaType: string; lastUsed: number }> {
    const out = new Map<string, { mediaType: string; lastUsed: number }>();
    for (const row of this.#all.iterate() as Iterable<Row & { digest: string }>) {
      out.set(row.digest, { mediaType: row.media_type, lastUsed: row.last_used });
    }
    return out;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

function open(file: string, durable: boolean): Database.Database {
  const db = new Database(file, { timeout: 15_000 });
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
    const code = (err as { code?: string }).code ?? '';
    if (!/^SQLITE_(CORRUPT|NOTADB)/.test(code)) throw err;
    // A cache index may be thrown away: move the damaged file aside (for a post-mortem) and start empty.
    for (const suffix of ['', '-wal', '-shm']) {
      try {
        fs.renameSync(file + suffix, `${file}.corrupt-${Date.now()}${suffix}`);
      } catch {
        /* absent */
      }
    }
    return open(file, durable);
  }
}
