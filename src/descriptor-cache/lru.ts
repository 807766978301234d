import { InvalidArgumentError } from '../errors.js';

/** Default bound of the memory caches, in entries (as distribution's ARC cache). */
export const DEFAULT_MAX_ENTRIES = 10_000;

/**
 * A bounded least-recently-used map on top of `Map`'s insertion order: `get` and `set` make the key the most
 * recent; `set` past the bound evicts the least recent entries. Every method is synchronous, so under Node's
 * single thread each call is atomic with respect to any other caller.
 */
export class Lru<K, V> {
  readonly maxEntries: number;
  private readonly map = new Map<K, V>();

  constructor(maxEntries: number = DEFAULT_MAX_ENTRIES) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new InvalidArgumentError(`maxEntries must be an integer >= 1, got ${String(maxEntries)}`);
    }
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.map.size;
  }

  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  /** Like `get`, without refreshing the entry. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.maxEntries) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Keys from least to most recently used. */
  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  clear(): void {
    this.map.clear();
  }
}
