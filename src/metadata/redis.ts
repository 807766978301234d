/**
 * `KeyValueStore` on Redis (ioredis, loaded on first use). `add` is one `SET NX PX`; `deleteIf` a Lua script
 * (GET, compare, DEL run as one step on the server). Every call is bounded by `timeoutMs` and a Redis that is
 * down or answering errors gives `CacheUnavailableError`, never a hang.
 */
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { CacheUnavailableError, InvalidArgumentError } from '../errors.js';
import { DEFAULT_REDIS_TIMEOUT_MS, boundedClientOptions } from '../descriptor-cache/redis.js';
import { bounded, slices } from './bounded.js';
import { checkKey, checkKeys, checkTimeout, checkTtl, checkValue } from './keys.js';
import type { KeyValueStore } from './types.js';

let ioredis: typeof import('ioredis') | undefined;
function loadIoredis(): typeof import('ioredis') {
  ioredis ??= createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  return ioredis;
}

const DELETE_IF = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;
// Keys per MGET: 64 values of 64 KiB (4 MiB) answer well within one time bound.
const MGET_KEYS = 64;

export interface RedisKeyValueStoreOptions {
  /** Upper bound, in milliseconds, on every round trip (connecting included). Default 1000. */
  timeoutMs?: number;
}

export class RedisKeyValueStore implements KeyValueStore {
  readonly kind = 'redis' as const;
  /** The ioredis client in use (owned, and quit by {@link close}, when the store was built from a URL). */
  readonly client: Redis;
  readonly timeoutMs: number;
  readonly #owned: boolean;
  readonly #what: string;
  #closed = false;

  /** From an ioredis client (left open by {@link close}) or a `redis://` / `rediss://` URL (owned). */
  constructor(clientOrUrl: Redis | string, options: RedisKeyValueStoreOptions = {}) {
    this.timeoutMs = checkTimeout(options.timeoutMs, DEFAULT_REDIS_TIMEOUT_MS);
    const { Redis: RedisClient } = loadIoredis();
    if (typeof clientOrUrl === 'string') {
      if (!/^rediss?:\/\//.test(clientOrUrl)) {
        throw new InvalidArgumentError(`expected a redis:// or rediss:// URL, got ${JSON.stringify(clientOrUrl).slice(0, 200)}`);
      }
      this.client = new RedisClient(clientOrUrl, boundedClientOptions(this.timeoutMs));
      this.client.on('error', () => {}); // failures surface through the calls, typed
      this.#owned = true;
    } else if (clientOrUrl instanceof RedisClient) {
      this.client = clientOrUrl;
      this.#owned = false;
    } else {
      throw new InvalidArgumentError('expected an ioredis client or a redis:// URL');
    }
    const o = this.client.options;
    this.#what = `Redis at ${o.path ? o.path : `${o.host ?? 'localhost'}:${o.port ?? 6379}`}`;
  }

  async get(key: string): Promise<Buffer | undefined> {
    checkKey(key);
    return (await this.#run(() => this.client.getBuffer(key))) ?? undefined;
  }

  async getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    checkKeys(keys);
    const out: Array<Buffer | undefined> = [];
    if (keys.length === 0) return this.#run(async () => out);
    for (const part of slices(keys, MGET_KEYS)) {
      const values = await this.#run(() => this.client.mgetBuffer(...part));
      for (const v of values) out.push(v ?? undefined);
    }
    return out;
  }

  async set(key: string, value: Buffer, options: { ttlMs?: number } = {}): Promise<void> {
    checkKey(key);
    const v = checkValue(value);
    const ttl = checkTtl(options?.ttlMs, false);
    // A SET without PX also clears an earlier TTL, as the contract wants.
    await this.#run(() => (ttl === undefined ? this.client.set(key, v) : this.client.set(key, v, 'PX', ttl)));
  }

  async add(key: string, value: Buffer, options: { ttlMs: number }): Promise<boolean> {
    checkKey(key);
    const v = checkValue(value);
    const ttl = checkTtl(options?.ttlMs, true)!;
    return (await this.#run(() => this.client.set(key, v, 'PX', ttl, 'NX'))) === 'OK';
  }

  async deleteIf(key: string, expected: Buffer): Promise<boolean> {
    checkKey(key);
    const e = checkValue(expected);
    return (await this.#run(() => this.client.eval(DELETE_IF, 1, key, e))) === 1;
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.#run(() => this.client.del(key));
  }

  /** Closes the store: later calls reject with `CacheUnavailableError`; an owned client is quit. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#owned) return;
    const c = this.client;
    let timer: NodeJS.Timeout | undefined;
    const within = (p: Promise<unknown>) =>
      Promise.race([p, new Promise((resolve) => (timer = setTimeout(resolve, this.timeoutMs)))]).finally(() => clearTimeout(timer));
    try {
      if (c.status === 'ready') await within(c.quit());
    } catch {
      // Gone or slow: dropped below.
    }
    if (c.status !== 'end') {
      const ended = new Promise((resolve) => c.once('end', resolve));
      c.disconnect();
      await within(ended);
    }
  }

  #run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new CacheUnavailableError(`${this.#what} (this store was closed)`));
    return bounded(this.#what, this.timeoutMs, fn);
  }
}
