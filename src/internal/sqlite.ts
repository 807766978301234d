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
