import fs from 'node:fs';
import type Database from 'better-sqlite3';
import { openAppDatabase } from '../internal/sqlite.js';
import { healing, openOrRebuild, type HealingFile } from '../internal/sqlite-heal.js';
import { CacheUnavailableError } from '../errors.js';
import { validateDigest } from '../digest/index.js';
import { nowMicros } from '../internal/clock.js';
import { UNKNOWN_TRANSFORMER, type BlobInfoCache, type CandidateLocation, type CandidateOptions, type KnownLocation } from './types.js';
import { checkLimit, checkLocation, checkString, orderCandidates, type RawLocation } from './rules.js';

/** `PRAGMA application_id` of a blob-info cache file ('MBIC'): anything else with tables in it is foreign. */
export const BLOBINFO_APPLICATION_ID = 0x4d424943;
const SCHEMA_VERSION = 1;

export interface SqliteBlobInfoCacheOptions {
  /** How long a call waits for another process's write lock before failing with `CacheUnavailableError`. */
  busyTimeoutMs?: number;
  /** `synchronous = NORMAL` (default) or `OFF`: either way WAL never corrupts; OFF may lose the last writes on power loss. */
  durable?: boolean;
}

interface Statements {
  upsertLocation: Database.Statement;
  upsertPair: Database.Statement;
  untransformedOf: Database.Statement;
  hasVariants: Database.Statement;
  variantsOf: Database.Statement;
  setTransformer: Database.Statement;
  clearTransformer: Database.Statement;
  transformerOf: Database.Statement;
  locations: Database.Statement;
  forget: Database.Statement;
}

interface Batch {
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The blob-info cache in a SQLite file (better-sqlite3, WAL): one connection per instance, prepared statements,
 * a busy timeout; several processes may use one file at once.
 *
 * Writes are queued and committed together in one transaction at the end of the current tick (so 1,000 calls
 * issued without awaiting each cost one commit); every read commits the queue first, so reads see earlier
 * writes. A file that is not SQLite or is damaged (SQLITE_NOTADB / SQLITE_CORRUPT, at open or on any later
 * call) is moved aside (`<file>.corrupt-<time>-<pid>`) with a process warning and rebuilt empty: this is a cache.
 * A valid SQLite database of another application, or of a newer schema, is left untouched and the constructor
 * throws `CacheUnavailableError`; so do a file that cannot be opened and a lock held past the busy timeout.
 */
export class SqliteBlobInfoCache implements BlobInfoCache {
  readonly path: string;
  readonly #options: Required<SqliteBlobInfoCacheOptions>;
  #db!: Database.Database;
  readonly #file: HealingFile;
  #runAll!: (ops: Array<() => void>) => void;
  #q!: Statements;
  #queue: Array<() => void> = [];
  /** The promise every write queued in this tick resolves with (one per transaction, not one per call). */
  #batch: Batch | undefined;
  #closed = false;

  constructor(path: string, options: SqliteBlobInfoCacheOptions = {}) {
    checkString('path', path, true);
    this.path = path;
    this.#options = { busyTimeoutMs: options.busyTimeoutMs ?? 5000, durable: options.durable ?? true };
    this.#file = {
      path,
      what: `blob-info cache ${path}`,
      warningCode: 'MOTECACHE_BLOBINFO_REBUILT',
      open: () => openDb(path, this.#options),
      unavailable: (err) => unavailable(path, err),
    };
    this.#attach(openOrRebuild(this.#file));
  }

  #attach(db: Database.Database): void {
    this.#db = db;
    this.#runAll = db.transaction((ops: Array<() => void>) => {
      for (const op of ops) op();
    }).immediate;
    this.#q = {
      upsertLocation: db.prepare(
        `INSERT INTO locations (transport, scope, digest, location, last_seen) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (transport, scope, digest, location) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
      ),
      upsertPair: db.prepare(
        `INSERT INTO pairs (digest, untransformed) VALUES (?, ?)
         ON CONFLICT (digest) DO UPDATE SET untransformed = excluded.untransformed`,
      ),
      untransformedOf: db.prepare('SELECT untransformed FROM pairs WHERE digest = ?').pluck(),
      hasVariants: db.prepare('SELECT 1 FROM pairs WHERE untransformed = ? LIMIT 1').pluck(),
      variantsOf: db.prepare('SELECT digest FROM pairs WHERE untransformed = ?').pluck(),
      setTransformer: db.prepare(
        'INSERT INTO transformers (digest, name) VALUES (?, ?) ON CONFLICT (digest) DO UPDATE SET name = excluded.name',
      ),
      clearTransformer: db.prepare('DELETE FROM transformers WHERE digest = ?'),
      transformerOf: db.prepare('SELECT name FROM transformers WHERE digest = ?').pluck(),
      locations: db.prepare(
        `SELECT location, last_seen FROM locations WHERE transport = ? AND scope = ? AND digest = ?
         ORDER BY last_seen DESC, location LIMIT ?`,
      ),
      forget: db.prepare('DELETE FROM locations WHERE transport = ? AND scope = ? AND digest = ?'),
    };
  }

  /** Runs `fn`; on corruption moves the file aside, rebuilds it and runs `fn` once more; other failures are typed. */
  #heal<T>(fn: () => T): T {
    return healing(this.#file, this.#db, (db) => this.#attach(db), fn);
  }

  #checkOpen(): void {
    if (this.#closed) throw new CacheUnavailableError(`blob-info cache ${this.path} (closed)`);
  }

  /** Queues a write; it commits with the others queued in this tick. */
  #enqueue(op: () => void): Promise<void> {
    this.#queue.push(op);
    if (this.#batch) return this.#batch.done;
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#batch = { done, resolve, reject };
    queueMicrotask(() => {
      try {
        this.#flush();
      } catch {
        /* reported through the batch's promise */
      }
    });
    return done;
  }

  /** Commits the queued writes in one IMMEDIATE transaction. Throws (and rejects the batch) on failure. */
  #flush(): void {
    const batch = this.#batch;
    const ops = this.#queue;
    this.#batch = undefined;
    this.#queue = [];
    if (ops.length === 0) return;
    try {
      this.#heal(() => this.#runAll(ops));
    } catch (err) {
      batch?.reject(err);
      throw err;
    }
    batch?.resolve();
  }

  async recordKnownLocation(transport: string, scope: string, digest: string, location: string): Promise<void> {
    this.#checkOpen();
    checkLocation({ transport, scope, digest, location });
    const at = nowMicros();
    return this.#enqueue(() => void this.#q.upsertLocation.run(transport, scope, digest, location, at));
  }

  async recordKnownLocations(entries: Iterable<KnownLocation>): Promise<void> {
    this.#checkOpen();
    const all = [...entries].map((e) => ({ ...checkLocation(e), at: nowMicros() }));
    if (all.length === 0) return;
    return this.#enqueue(() => {
      for (const e of all) this.#q.upsertLocation.run(e.transport, e.scope, e.digest, e.location, e.at);
    });
  }

  async recordDigestUntransformedPair(anyDigest: string, untransformed: string): Promise<void> {
    this.#checkOpen();
    validateDigest(anyDigest);
    validateDigest(untransformed);
    return this.#enqueue(() => void this.#q.upsertPair.run(anyDigest, untransformed));
  }

  async recordDigestTransformerName(digest: string, name: string): Promise<void> {
    this.#checkOpen();
    validateDigest(digest);
    checkString('transformer name', name, true);
    return this.#enqueue(() =>
      void (name === UNKNOWN_TRANSFORMER ? this.#q.clearTransformer.run(digest) : this.#q.setTransformer.run(digest, name)),
    );
  }

  async forgetLocations(transport: string, scope: string, digests: Iterable<string>): Promise<void> {
    this.#checkOpen();
    checkString('transport', transport);
    checkString('scope', scope);
    const all = [...digests].map(validateDigest);
    if (all.length === 0) return;
    return this.#enqueue(() => {
      for (const d of all) this.#q.forget.run(transport, scope, d);
    });
  }

  #untransformed(digest: string): string | undefined {
    const u = this.#q.untransformedOf.get(digest) as string | undefined;
    if (u !== undefined) return u;
    return this.#q.hasVariants.get(digest) !== undefined ? digest : undefined;
  }

  /** Commits pending writes, then reads. */
  #read<T>(fn: () => T): T {
    this.#checkOpen();
    if (this.#queue.length > 0) this.#flush();
    return this.#heal(fn);
  }

  async untransformedDigest(digest: string): Promise<string | undefined> {
    validateDigest(digest);
    return this.#read(() => this.#untransformed(digest));
  }

  async candidateLocations(transport: string, scope: string, digest: string, options: CandidateOptions): Promise<CandidateLocation[]> {
    checkString('transport', transport);
    checkString('scope', scope);
    validateDigest(digest);
    const limit = checkLimit(options?.limit);
    return this.#read(() => {
      const digests = new Set([digest]);
      let untransformed: string | undefined;
      if (options?.canSubstitute) {
        untransformed = this.#untransformed(digest);
        if (untransformed !== undefined) {
          for (const d of this.#q.variantsOf.all(untransformed) as string[]) digests.add(d);
          digests.add(untransformed);
        }
      }
      const raw: RawLocation[] = [];
      // Each digest's rows come newest first, so `limit` rows per digest are enough for the first `limit` overall.
      for (const d of digests) {
        const rows = this.#q.locations.all(transport, scope, d, limit ?? -1) as Array<{ location: string; last_seen: number }>;
        for (const r of rows) raw.push({ digest: d, location: r.location, micros: r.last_seen });
      }
      return orderCandidates(digest, untransformed, raw, (d) => this.#q.transformerOf.get(d) as string | undefined, limit);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      if (this.#queue.length > 0) this.#flush();
    } finally {
      this.#closed = true;
      if (this.#db.open) this.#db.close();
    }
  }
}

function openDb(file: string, options: Required<SqliteBlobInfoCacheOptions>): Database.Database {
  return openAppDatabase(file, {
    what: `blob-info cache ${file}`,
    applicationId: BLOBINFO_APPLICATION_ID,
    schemaVersion: SCHEMA_VERSION,
    createSql: `
      CREATE TABLE IF NOT EXISTS locations (
        transport TEXT NOT NULL, scope TEXT NOT NULL, digest TEXT NOT NULL, location TEXT NOT NULL,
        last_seen INTEGER NOT NULL,
        PRIMARY KEY (transport, scope, digest, location)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS pairs (digest TEXT PRIMARY KEY, untransformed TEXT NOT NULL) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS pairs_by_untransformed ON pairs (untransformed);
      CREATE TABLE IF NOT EXISTS transformers (digest TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;
    `,
    touchSql: 'SELECT count(*) FROM (SELECT 1 FROM locations LIMIT 1), (SELECT 1 FROM pairs LIMIT 1)',
    durable: options.durable,
    busyTimeoutMs: options.busyTimeoutMs,
    pragmas: ['cache_size = -16384'], // 16 MiB: a 100,000-row cache stays in memory
    refuse: (message) => new CacheUnavailableError(message),
  });
}

function unavailable(file: string, err: unknown): unknown {
  if (err instanceof CacheUnavailableError) return err;
  return new CacheUnavailableError(`blob-info cache ${file}`, err);
}
