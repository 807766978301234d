import { createRequire } from 'node:module';
import type Database from 'better-sqlite3';

// better-sqlite3 is a native addon: loaded when the first database is opened, not when motecache is imported
// (`mote --help`, or a program that only uses the memory backends, needs no SQLite).
let SqliteDatabase: typeof Database | undefined;

/** Opens (creating if missing) a SQLite database file with better-sqlite3. */
export function openSqlite(file: string, options: Database.Options = {}): Database.Database {
  SqliteDatabase ??= createRequire(import.meta.url)('better-sqlite3') as typeof Database;
  return new SqliteDatabase(file, options);
}

/** Whether `err` is one of SQLite's own errors (better-sqlite3 sets `code` to `SQLITE_…`). */
export function isSqliteError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_');
}

/** Whether `err` says the file is damaged or not a database at all (then it is rebuilt, not reported forever). */
export function isCorruption(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)/.test(code);
}

/**
 * A database file's application id and table count, read in one read transaction: read apart, another process
 * creating the schema between the two reads makes a new cache look like "another application's database" (tables,
 * but the id not yet seen).
 */
export function identifyDatabase(db: Database.Database): { appId: number; tables: number } {
  return db.transaction(() => ({
    appId: db.pragma('application_id', { simple: true }) as number,
    tables: db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").pluck().get() as number,
  }))();
}

/** What one of motecache's own SQLite files is: how it is named in errors, its id, its schema. */
export interface AppDatabaseSpec {
  /** How errors name it: "blob-info cache /path/file". */
  what: string;
  applicationId: number;
  schemaVersion: number;
  /** Creates the schema; idempotent (`IF NOT EXISTS`). */
  createSql: string;
  /** A query touching every table, so that a damaged file fails at open rather than on first use. */
  touchSql: string;
  durable: boolean;
  busyTimeoutMs: number;
  /** Pragmas set after the journal mode (e.g. `cache_size = -16384`). */
  pragmas?: readonly string[];
  /** Makes the error for a file that is not this application's, or is of a newer schema. */
  refuse: (message: string) => Error;
}

/**
 * Opens (creating if missing) a SQLite file of one of motecache's own caches, in WAL mode: refuses another
 * application's database (left untouched) and a newer schema, creates the schema when missing. Closes the
 * database if anything fails.
 */
export function openAppDatabase(file: string, spec: AppDatabaseSpec): Database.Database {
  const db = openSqlite(file, { timeout: spec.busyTimeoutMs });
  try {
    // Identify the file before any pragma that writes (journal_mode = WAL rewrites the header): a database of
    // another application must really be left untouched.
    const { appId, tables } = identifyDatabase(db);
    if (appId !== spec.applicationId && tables > 0) throw spec.refuse(`${spec.what} (a SQLite database of another application; left untouched)`);
    switchToWal(db, spec.busyTimeoutMs);
    db.pragma(`synchronous = ${spec.durable ? 'NORMAL' : 'OFF'}`);
    for (const p of spec.pragmas ?? []) db.pragma(p);
    const version = appId === spec.applicationId ? (db.pragma('user_version', { simple: true }) as number) : 0;
    if (version > spec.schemaVersion) throw spec.refuse(`${spec.what} (schema version ${version}, newer than this motecache's ${spec.schemaVersion})`);
    // Several processes may create the schema at once: IMMEDIATE serialises them, IF NOT EXISTS makes it
    // idempotent. An existing database is opened without taking the write lock.
    if (version < spec.schemaVersion) {
      db.transaction(() => {
        db.exec(spec.createSql);
        db.pragma(`application_id = ${spec.applicationId}`);
        db.pragma(`user_version = ${spec.schemaVersion}`);
      }).immediate();
    }
    db.prepare(spec.touchSql).get();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * `journal_mode = WAL`, retried while another process holds the lock it needs. SQLite answers SQLITE_BUSY at once,
 * without its busy handler, where waiting could deadlock (two connections both upgrading from a shared lock, as
 * several processes opening one new database do), so the busy timeout alone does not cover it. Bounded by
 * `timeoutMs`; the waits are short and jittered so that the openers fall out of step.
 */
function switchToWal(db: Database.Database, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5 + Math.floor(Math.random() * 20));
    }
  }
}
