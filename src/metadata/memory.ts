/**
 * `KeyValueStore` in this process's memory: bounded in bytes, least recently used evicted first, TTLs on the
 * monotonic clock (a wall-clock jump neither expires nor revives anything). Every operation runs synchronously
 * between two awaits, so `add` and `deleteIf` are atomic without a lock.
 */
import { CacheUnavailableError, InvalidArgumentError } from '../errors.js';
import { checkKey, checkKeys, checkTtl, checkValue } from './keys.js';
import type { KeyValueStore } from './types.js';

export interface MemoryKeyValueStoreOptions {
  /** Bytes kept (keys and values); least recently used entries are evicted past it. Default 256 MiB. */
  maxBytes?: number;
}

export const DEFAULT_MEMORY_MAX_BYTES = 256 * 2 ** 20;
// Rough per-entry overhead counted against the bound, so a million empty values still count.
const ENTRY_OVERHEAD = 64;
// Expired entries nobody reads again are swept once every this many writes (amortised O(1)).
const SWEEP_EVERY = 1024;

interface Entry {
  value: Buffer;
  /** `performance.now()` after which the entry is gone; undefined: never. */
  expiresAt: number | undefined;
}

export class MemoryKeyValueStore implements KeyValueStore {
  readonly kind = 'memory' as const;
  readonly maxBytes: number;
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  #writes = 0;
  #closed = false;

  constructor(options: MemoryKeyValueStoreOptions = {}) {
    const max = options.maxBytes ?? DEFAULT_MEMORY_MAX_BYTES;
    if (!Number.isSafeInteger(max) || max <= 0) throw new InvalidArgumentError(`maxBytes must be a positive integer, got ${String(max)}`);
    this.maxBytes = max;
  }

  /** Bytes currently counted against {@link maxBytes}. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Entries currently held (expired ones not yet swept included). */
  get size(): number {
    return this.#entries.size;
  }

  async get(key: string): Promise<Buffer | undefined> {
    checkKey(key);
    this.#checkOpen();
    return this.#read(key);
  }

  async getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    checkKeys(keys);
    this.#checkOpen();
    return keys.map((k) => this.#read(k));
  }

  async set(key: string, value: Buffer, options: { ttlMs?: number } = {}): Promise<void> {
    checkKey(key);
    const v = checkValue(value);
    const ttl = checkTtl(options?.ttlMs, false);
    this.#checkOpen();
    this.#write(key, v, ttl);
  }

  async add(key: string, value: Buffer, options: { ttlMs: number }): Promise<boolean> {
    checkKey(key);
    const v = checkValue(value);
    const ttl = checkTtl(options?.ttlMs, true);
    this.#checkOpen();
    if (this.#live(key)) return false;
    this.#write(key, v, ttl);
    return true;
  }

  async deleteIf(key: string, expected: Buffer): Promise<boolean> {
    checkKey(key);
    const e = checkValue(expected);
    this.#checkOpen();
    const entry = this.#live(key);
    if (!entry || !entry.value.equals(e)) return false;
    this.#remove(key, entry);
    return true;
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    this.#checkOpen();
    const entry = this.#entries.get(key);
    if (entry) this.#remove(key, entry);
  }

  /** Drops everything; later calls reject with `CacheUnavailableError`. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#entries.clear();
    this.#bytes = 0;
  }

  #checkOpen(): void {
    if (this.#closed) throw new CacheUnavailableError('memory key/value store (closed)');
  }

  /** The entry if present and not expired (an expired one is removed on the way). */
  #live(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && performance.now() >= entry.expiresAt) {
      this.#remove(key, entry);
      return undefined;
    }
    return entry;
  }

  #read(key: string): Buffer | undefined {
    const entry = this.#live(key);
    if (!entry) return undefined;
    // Most recently used goes last in the map's order.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return Buffer.from(entry.value); // a copy: the caller may write into it
  }

  #write(key: string, value: Buffer, ttlMs: number | undefined): void {
    const old = this.#entries.get(key);
    if (old) this.#remove(key, old);
    const entry: Entry = { value: Buffer.from(value), expiresAt: ttlMs === undefined ? undefined : performance.now() + ttlMs };
    this.#entries.set(key, entry);
    this.#bytes += cost(key, entry);
    if (++this.#writes % SWEEP_EVERY === 0) this.#sweep();
    for (const [k, e] of this.#entries) {
      if (this.#bytes <= this.maxBytes || k === key) break;
      this.#remove(k, e);
    }
  }

  #remove(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#bytes -= cost(key, entry);
  }

  #sweep(): void {
    const now = performance.now();
    for (const [k, e] of this.#entries) if (e.expiresAt !== undefined && now >= e.expiresAt) this.#remove(k, e);
  }
}

function cost(key: string, entry: Entry): number {
  return key.length + entry.value.length + ENTRY_OVERHEAD;
}
