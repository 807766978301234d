/**
 * `KeyValueStore` on memcached (memjs, binary protocol, loaded on first use). `add` is memcached's ADD;
 * `deleteIf` reads the value with its CAS token and deletes with that token, so the delete fails if anyone wrote
 * in between. memjs's own client has no CAS: requests are built with its protocol helpers and sent through its
 * connection. Every call is bounded by `timeoutMs` (memjs alone leaves a request pending forever when the server
 * goes away under it); an unreachable server gives `CacheUnavailableError`.
 *
 * TTLs: memcached counts whole seconds on a clock that ticks once a second, so an item can expire up to a second
 * before its TTL. A TTL is therefore rounded up to whole seconds plus one: never shorter than asked (a lease must
 * not end early), up to two seconds longer. Past 30 days memcached reads the number as a Unix time; that is sent.
 */
import { createRequire } from 'node:module';
import { CacheUnavailableError, InvalidArgumentError } from '../errors.js';
import { bounded, slices } from './bounded.js';
import { checkKey, checkKeys, checkTimeout, checkTtl, checkValue } from './keys.js';
import type { KeyValueStore } from './types.js';

/** The part of memjs (1.3) this backend uses, including the internals that CAS needs. */
interface MemjsResponse {
  header: { status: number; cas: Buffer };
  val: Buffer;
}
interface MemjsClient {
  seq: number;
  incrSeq(): void;
  perform(key: string, request: Buffer, seq: number, callback: (err: unknown, response: MemjsResponse | null) => void): void;
  close(): void;
}
interface Memjs {
  Client: { create(servers: string, options: Record<string, unknown>): MemjsClient };
  Utils: { makeRequestBuffer(opcode: number, key: string, extras: Buffer | string, value: Buffer | string, opaque: number): Buffer };
}

let memjs: Memjs | undefined;
function loadMemjs(): Memjs {
  memjs ??= createRequire(import.meta.url)('memjs') as Memjs;
  return memjs;
}

const OP = { get: 0x00, set: 0x01, add: 0x02, delete: 0x04 } as const;
const STATUS = { ok: 0, notFound: 1, exists: 2, notStored: 5 } as const;
const THIRTY_DAYS_S = 30 * 24 * 3600;
// Requests in flight per bounded step of getMany (64 values of 64 KiB).
const GET_BATCH = 64;
const SERVERS_RE = /^[A-Za-z0-9.-]+(:[1-9][0-9]{0,4})?(,[A-Za-z0-9.-]+(:[1-9][0-9]{0,4})?)*$/;

export const DEFAULT_MEMCACHED_TIMEOUT_MS = 1000;

export interface MemcachedKeyValueStoreOptions {
  /** Upper bound, in milliseconds, on every round trip (connecting included). Default 1000. */
  timeoutMs?: number;
}

export class MemcachedKeyValueStore implements KeyValueStore {
  readonly kind = 'memcached' as const;
  readonly servers: string;
  readonly timeoutMs: number;
  readonly #client: MemjsClient;
  readonly #utils: Memjs['Utils'];
  readonly #what: string;
  #closed = false;

  /** `servers`: `host[:port]` (default port 11211), several separated by commas (keys are spread over them). */
  constructor(servers: string, options: MemcachedKeyValueStoreOptions = {}) {
    if (typeof servers !== 'string' || !SERVERS_RE.test(servers)) {
      const got = JSON.stringify(servers)?.slice(0, 200);
      throw new InvalidArgumentError(`expected memcached servers as host[:port][,host[:port]...], got ${got}`);
    }
    this.servers = servers;
    this.timeoutMs = checkTimeout(options.timeoutMs, DEFAULT_MEMCACHED_TIMEOUT_MS);
    const lib = loadMemjs();
    this.#utils = lib.Utils;
    const seconds = this.timeoutMs / 1000;
    this.#client = lib.Client.create(servers, {
      timeout: seconds,
      conntimeout: seconds,
      // One attempt: a retried ADD that had in fact been applied would answer "exists" to its own writer.
      retries: 1,
      logger: { log() {} }, // failures surface through the calls, typed
    });
    this.#what = `memcached at ${servers}`;
  }

  async get(key: string): Promise<Buffer | undefined> {
    checkKey(key);
    return this.#run(() => this.#get(key));
  }

  async getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>> {
    checkKeys(keys);
    const out: Array<Buffer | undefined> = [];
    if (keys.length === 0) return this.#run(async () => out);
    // Requests of one batch are written back to back (pipelined on the connection), not one round trip each.
    for (const part of slices(keys, GET_BATCH)) out.push(...(await this.#run(() => Promise.all(part.map((k) => this.#get(k))))));
    return out;
  }

  async set(key: string, value: Buffer, options: { ttlMs?: number } = {}): Promise<void> {
    checkKey(key);
    const v = checkValue(value);
    const ttl = checkTtl(options?.ttlMs, false);
    await this.#run(async () => {
      const r = await this.#send(OP.set, key, storeExtras(ttl), v);
      if (r.header.status !== STATUS.ok) throw statusError('SET', r);
    });
  }

  async add(key: string, value: Buffer, options: { ttlMs: number }): Promise<boolean> {
    checkKey(key);
    const v = checkValue(value);
    const ttl = checkTtl(options?.ttlMs, true);
    return this.#run(async () => {
      const r = await this.#send(OP.add, key, storeExtras(ttl), v);
      if (r.header.status === STATUS.ok) return true;
      if (r.header.status === STATUS.exists || r.header.status === STATUS.notStored) return false;
      throw statusError('ADD', r);
    });
  }

  async deleteIf(key: string, expected: Buffer): Promise<boolean> {
    checkKey(key);
    const e = checkValue(expected);
    return this.#run(async () => {
      const got = await this.#send(OP.get, key);
      if (got.header.status === STATUS.notFound) return false;
      if (got.header.status !== STATUS.ok) throw statusError('GET', got);
      if (!got.val.equals(e)) return false;
      // With the CAS token read above: "exists" if the item changed since, "not found" if it went.
      const del = await this.#send(OP.delete, key, '', '', got.header.cas);
      if (del.header.status === STATUS.ok) return true;
      if (del.header.status === STATUS.exists || del.header.status === STATUS.notFound) return false;
      throw statusError('DELETE', del);
    });
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.#run(async () => {
      const r = await this.#send(OP.delete, key);
      if (r.header.status !== STATUS.ok && r.header.status !== STATUS.notFound) throw statusError('DELETE', r);
    });
  }

  /** Closes the connections; later calls reject with `CacheUnavailableError`. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
  }

  async #get(key: string): Promise<Buffer | undefined> {
    const r = await this.#send(OP.get, key);
    if (r.header.status === STATUS.notFound) return undefined;
    if (r.header.status !== STATUS.ok) throw statusError('GET', r);
    return Buffer.from(r.val); // a copy: the slice would pin memjs's whole receive buffer
  }

  #send(opcode: number, key: string, extras: Buffer | string = '', value: Buffer | string = '', cas?: Buffer): Promise<MemjsResponse> {
    const c = this.#client;
    c.incrSeq();
    const seq = c.seq;
    const request = this.#utils.makeRequestBuffer(opcode, key, extras, value, seq);
    if (cas) cas.copy(request, 16); // the header's CAS field (bytes 16-23)
    return new Promise((resolve, reject) => {
      c.perform(key, request, seq, (err, response) => {
        if (err || !response) reject(err instanceof Error ? err : new Error(String(err ?? 'no response')));
        else resolve(response);
      });
    });
  }

  #run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new CacheUnavailableError(`${this.#what} (this store was closed)`));
    return bounded(this.#what, this.timeoutMs, fn);
  }
}

/** SET/ADD extras: 4 bytes of flags (0), 4 bytes of expiration (see the module comment). */
function storeExtras(ttlMs: number | undefined): Buffer {
  const extras = Buffer.alloc(8);
  if (ttlMs !== undefined) {
    const seconds = Math.ceil(ttlMs / 1000) + 1;
    extras.writeUInt32BE(seconds > THIRTY_DAYS_S ? Math.ceil((Date.now() + ttlMs) / 1000) + 1 : seconds, 4);
  }
  return extras;
}

function statusError(op: string, r: MemjsResponse): Error {
  const detail = r.val?.length ? `: ${r.val.toString('latin1').slice(0, 200)}` : '';
  return new Error(`${op} answered status ${r.header.status}${detail}`);
}
