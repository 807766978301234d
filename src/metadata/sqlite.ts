/**
 * `KeyValueStore` in a SQLite file (better-sqlite3, WAL), with the blob-info cache's conventions: a busy
 * timeout, several processes on one file, `application_id` to tell our file from another application's, and a
 * damaged file moved aside and rebuilt empty (this is a cache). TTLs are wall-clock milliseconds, so every
 * process on the file agrees on them; expired rows read as absent and are purged now and then.
 */
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openAppDatabase } from '../internal/sqlite.js';
import { healing, openOrRebuild, type HealingFile } from '../internal/sqlite-heal.js';
import { CacheUnavailableError, InvalidArgumentError } from '../errors.js';
import { checkKey, checkKeys, checkTimeout, checkTtl, checkValue } from './keys.js';
import type { KeyValueStore } from './types.js';

/** `PRAGMA application_id` of a metadata store file ('MMET'). */
export const METADATA_APPLICATION_ID = 0x4d4d4554;
const SCHEMA_VERSION = 1;
// Expired rows are purged on open and once every this many writes.
const PURGE_EVERY = 1000;

/** Where a cache rooted at `root` keeps its metadata store: `<root>/.mote/metadata.db`. */
export function metadataDbPath(root: string): string {
  return path.join(root, '.mote', 'metadata.db');
}

export interface SqliteKeyValueStoreOptions {
  /** How long a call waits for another process's write lock before failing with `CacheUnavailableError`. Default 5000. */
  busyTimeoutMs?: number;
  /** `synchronous = NORMAL` (default) or `OFF` (may lose the last writes on power loss; never corrupts). */
  durable?: boolean;
}

interface Statements {
  get: Database.Statement;
  set: Database.Statement;
  add: Database.Statement;
  deleteIf: Database.Statement;
  delete: Database.Statement;
  purge: Database.Statement;
}

export class SqliteKeyValueStore implements KeyValueStore {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly #options: Required<SqliteKeyValueStoreOptions>;
  #db!: Database.Database;
  readonly #file: HealingFile;
  #q!: Statements;
  #getMany!: (keys: readonly string[], now: number) => Array<Buffer | undefined>;
  #writes = 0;
  #closed = false;

  /** Opens (creating it and its folder if missing) the store at `file`; see {@link metadataDbPath}. */
  constructor(file: string, options: SqliteKeyValueStoreOptions = {}) {
    if (typeof file !== 'string' || file === '') throw new InvalidArgumentError('the metadata store path must be a non-empty string');
    this.path = file;
    this.#options = { busyTimeoutMs: checkTimeout(options.busyTimeoutMs, 5000), durable: options.durable ?? true };
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
    } catch (err) {
      throw new CacheUnavailableError(`metadata store ${file}`, err);
    }
    this.#file = {
      path: file,
      what: `metadata store ${file}`,
      warningCode: 'MOTECACHE_METADATA_REBUILT',
      open: () => openDb(file, this.#options),
      unavailable: (err) => unavailable(file, err),
    };
    this.#attach(openOrRebuild(this.#file));
    this.#heal(() => this.#q.purge.run(Date.now()));
  }

  async get(key: string): Promise<Buffer | undefined> {
    checkKey(key);
    return this.#use(() => (this.#q.get.get(key, Date.now()) as Buffer | undefined) ?? undefined);
  }

  async getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    checkKeys(keys);
    if (keys.length === 0) return this.#use(() => []);
    // One read transaction: the values come from one snapshot.
    return this.#use(() => this.#getMany(keys, Date.now()));
  }

  async set(key: string, value: Buffer, options: { ttlMs?: number } = {}): Promise<void> {
    checkKey(key);
    const v = checkValue(value);
    const ttl = checkTtl(options?.ttlMs, false);
    this.#use(() => this.#q.set.run(key, v, ttl === undefined ? null : Date.now() + ttl), true);
  }

  async add(key: string, value: Buffer, options: { ttlMs: number }): Promise<boolean> {
    checkKey(key);
    const v = checkValue(value);
    const ttl = checkTtl(options?.ttlMs, true)!;
    // One statement: inserts, or replaces a row that has expired; a live row is left alone (0 changes).
    return this.#use(() => {
      const now = Date.now();
      return this.#q.add.run(key, v, now + ttl, now).changes === 1;
    }, true);
  }

  async deleteIf(key: string, expected: Buffer): Promise<boolean> {
    checkKey(key);
    const e = checkValue(expected);
    return this.#use(() => this.#q.deleteIf.run(key, e, Date.now()).changes === 1, true);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    this.#use(() => this.#q.delete.run(key), true);
  }

  /** Closes the file; later calls reject with `CacheUnavailableError`. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#db.open) this.#db.close();
  }

  #use<T>(fn: () => T, write = false): T {
    if (this.#closed) throw new CacheUnavailableError(`metadata store ${this.path} (closed)`);
    const result = this.#heal(fn);
    if (write && ++this.#writes % PURGE_EVERY === 0) {
      try {
        this.#q.purge.run(Date.now());
      } catch {
        // Only housekeeping: the next purge tries again.
      }
    }
    return result;
  }

  /** Runs `fn`; on corruption moves the file aside, rebuilds it and runs `fn` once more; other failures are typed. */
  #heal<T>(fn: () => T): T {
    return healing(this.#file, this.#db, (db) => this.#attach(db), fn);
  }

  #attach(db: Database.Database): void {
    this.#db = db;
    const live = '(expires_at IS NULL OR expires_at > ?)';
    this.#q = {
      get: db.prepare(`SELECT value FROM kv WHERE key = ? AND ${live}`).pluck(),
      set: db.prepare(
        `INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
      ),
      add: db.prepare(
        `INSERT INTO kv (key, value, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
         WHERE kv.expires_at IS NOT NULL AND kv.expires_at <= ?`,
      ),
      deleteIf: db.prepare(`DELETE FROM kv WHERE key = ? AND value = ? AND ${live}`),
      delete: db.prepare('DELETE FROM kv WHERE key = ?'),
      purge: db.prepare('DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?'),
    };
    const get = this.#q.get;
    this.#getMany = db.transaction((keys: readonly string[], now: number) =>
      keys.map((k) => (get.get(k, now) as Buffer | undefined) ?? undefined),
    );
  }
}

function openDb(file: string, options: Required<SqliteKeyValueStoreOptions>): Database.Database {
  return openAppDatabase(file, {
    what: `metadata store ${file}`,
    applicationId: METADATA_APPLICATION_ID,
    schemaVersion: SCHEMA_VERSION,
    // A rowid table (not WITHOUT ROWID): values are up to 64 KiB, too large for the key's b-tree.
    createSql: `
      CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, expires_at INTEGER);
      CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_at) WHERE expires_at IS NOT NULL;
    `,
    touchSql: 'SELECT count(*) FROM (SELECT 1 FROM kv LIMIT 1)',
    durable: options.durable,
    busyTimeoutMs: options.busyTimeoutMs,
    refuse: (message) => new CacheUnavailableError(message),
  });
}

function unavailable(file: string, err: unknown): unknown {
  if (err instanceof CacheUnavailableError) return err;
  return new CacheUnavailableError(`metadata store ${file}`, err);
}
