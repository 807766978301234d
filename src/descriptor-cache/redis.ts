/**
 * Redis backends (ioredis), with distribution's key layout:
 *
 * - `repository::<repo>::blobs`: set of the digests known in `<repo>`
 * - `blobs::<digest>`: hash; `path`, `length` (layer info) and `digest`, `size`, `mediatype` (descriptor)
 * - `repository::<repo>::blobs::<digest>`: hash; `digest`, `mediatype` as seen in `<repo>`
 *
 * Every multi-key update runs in one MULTI/EXEC, so a descriptor is written (or cleared) atomically; every
 * operation is bounded in time (`timeoutMs`) and a Redis that is down, unreachable or answering errors gives
 * `CacheUnavailableError`, never a hang.
 */
import { createRequire } from 'node:module';
import type { ChainableCommander, Redis } from 'ioredis';
import { CacheUnavailableError, InvalidArgumentError, MoteError } from '../errors.js';
import {
  unknown,
  validateDescriptor,
  validateLayerMeta,
  validateRepository,
  type BlobDescriptor,
  type BlobDescriptorCache,
  type LayerInfoCache,
  type LayerMeta,
} from './types.js';
import { validateDigest } from '../digest/index.js';

const repositoryBlobsKey = (repo: string): string => `repository::${repo}::blobs`;
const blobKey = (digest: string): string => `blobs::${digest}`;
const repositoryBlobKey = (repo: string, digest: string): string => `repository::${repo}::blobs::${digest}`;

// ioredis (~150 ms to load) is required when the first Redis cache is built, not when motecache is imported.
let ioredis: typeof import('ioredis') | undefined;
function loadIoredis(): typeof import('ioredis') {
  ioredis ??= createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
  return ioredis;
}

/** The Redis key layout (distribution's), for tooling and tests that look at the keys directly. */
export const redisCacheKeys = {
  /** Set of the digests known in a repository. */
  repositoryBlobs: repositoryBlobsKey,
  /** Global hash of a digest. */
  blob: blobKey,
  /** Per-repository hash of a digest. */
  repositoryBlob: repositoryBlobKey,
} as const;

/** Fields of `blobs::<digest>` that the descriptor cache writes, and therefore clears. */
const DESCRIPTOR_FIELDS = ['digest', 'size', 'mediatype'] as const;

export interface RedisCacheOptions {
  /**
   * Upper bound, in milliseconds, on every operation (connecting included): past it the operation rejects with
   * `CacheUnavailableError`. Default 1000.
   */
  timeoutMs?: number;
}

export const DEFAULT_REDIS_TIMEOUT_MS = 1000;

/** Client options used when the cache builds its own client from a URL: fail fast, never queue forever. */
export function boundedClientOptions(timeoutMs: number) {
  return {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true, // bounded by commandTimeout and maxRetriesPerRequest
    retryStrategy: (times: number) => Math.min(times * 100, 1000),
    // Commands issued in the same tick go out in one write: concurrent callers are pipelined for free.
    enableAutoPipelining: true,
  };
}

/** Shared plumbing: the client, ownership, the time bound and error mapping. */
abstract class RedisBackend {
  /** The ioredis client in use (owned when the cache was built from a URL). */
  readonly client: Redis;
  readonly timeoutMs: number;
  private readonly owned: boolean;
  private readonly what: string;
  private closed = false;

  protected constructor(clientOrUrl: Redis | string, options: RedisCacheOptions) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_REDIS_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new InvalidArgumentError(`timeoutMs must be a positive number, got ${String(timeoutMs)}`);
    }
    this.timeoutMs = timeoutMs;
    const { Redis: RedisClient } = loadIoredis();
    if (typeof clientOrUrl === 'string') {
      if (!/^rediss?:\/\//.test(clientOrUrl)) {
        throw new InvalidArgumentError(`expected a redis:// or rediss:// URL, got ${JSON.stringify(clientOrUrl).slice(0, 200)}`);
      }
      this.client = new RedisClient(clientOrUrl, boundedClientOptions(timeoutMs));
      // Connection errors surface through the commands (as CacheUnavailableError); without a listener ioredis
      // would print every reconnect failure.
      this.client.on('error', () => {});
      this.owned = true;
    } else if (clientOrUrl instanceof RedisClient) {
      this.client = clientOrUrl;
      this.owned = false;
    } else {
      throw new InvalidArgumentError('expected an ioredis client or a redis:// URL');
    }
    const o = this.client.options;
    this.what = `Redis at ${o.path ? o.path : `${o.host ?? 'localhost'}:${o.port ?? 6379}`}`;
  }

  /** Runs `fn` within `timeoutMs`; anything but our own typed errors becomes `CacheUnavailableError`. */
  protected async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new CacheUnavailableError(`${this.what} (this cache was closed)`);
    let timer: NodeJS.Timeout | undefined;
    const work = fn();
    work.catch(() => {}); // may settle after the timeout
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (err) {
      if (err instanceof MoteError) throw err;
      throw new CacheUnavailableError(this.what, err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** EXEC a MULTI and surface the first per-command error. */
  protected async exec(multi: ChainableCommander): Promise<unknown[]> {
    const res = await multi.exec();
    if (res === null) throw new Error('transaction aborted');
    return res.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
  }

  /**
   * Closes the cache: later calls reject with `CacheUnavailableError`. The client is quit if this cache created
   * it (from a URL); a client passed in stays open (its owner closes it). Idempotent.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.owned) return;
    const c = this.client;
    let timer: NodeJS.Timeout | undefined;
    const bound = (p: Promise<unknown>) =>
      Promise.race([p, new Promise((resolve) => (timer = setTimeout(resolve, this.timeoutMs)))]).finally(() => clearTimeout(timer));
    try {
      if (c.status === 'ready') await bound(c.quit());
    } catch {
      // The server is gone or slow: drop the connection below.
    }
    if (c.status !== 'end') {
      const ended = new Promise((resolve) => c.once('end', resolve));
      c.disconnect();
      await bound(ended);
    }
  }
}

function parseSize(s: unknown): number | undefined {
  if (typeof s !== 'string' || !/^(0|[1-9][0-9]*)$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `LayerInfoCache` on Redis: `repository::<repo>::blobs` (set) and `blobs::<digest>` {path, length}. */
export class RedisLayerInfoCache extends RedisBackend implements LayerInfoCache {
  /** From an ioredis client (not closed by {@link close}) or a `redis://` URL (owned, closed by {@link close}). */
  constructor(clientOrUrl: Redis | string, options: RedisCacheOptions = {}) {
    super(clientOrUrl, options);
  }

  async contains(repo: string, digest: string): Promise<boolean> {
    validateRepository(repo);
    validateDigest(digest);
    return this.run(async () => (await this.client.sismember(repositoryBlobsKey(repo), digest)) === 1);
  }

  async add(repo: string, digest: string): Promise<void> {
    validateRepository(repo);
    validateDigest(digest);
    await this.run(() => this.client.sadd(repositoryBlobsKey(repo), digest));
  }

  async meta(digest: string): Promise<LayerMeta> {
    validateDigest(digest);
    const [path, length] = await this.run(() => this.client.hmget(blobKey(digest), 'path', 'length'));
    const n = parseSize(length);
    if (!path || n === undefined) throw unknown(digest);
    return { path, length: n };
  }

  async setMeta(digest: string, meta: LayerMeta): Promise<void> {
    validateDigest(digest);
    const m = validateLayerMeta(meta);
    // One HSET: both fields change atomically.
    await this.run(() => this.client.hset(blobKey(digest), 'path', m.path, 'length', String(m.length)));
  }
}

/** `BlobDescriptorCache` on Redis, with distribution's key layout (see the module comment). */
export class RedisBlobDescriptorCache extends RedisBackend implements BlobDescriptorCache {
  /** From an ioredis client (not closed by {@link close}) or a `redis://` URL (owned, closed by {@link close}). */
  constructor(clientOrUrl: Redis | string, options: RedisCacheOptions = {}) {
    super(clientOrUrl, options);
  }

  async stat(digest: string): Promise<BlobDescriptor> {
    validateDigest(digest);
    const fields = await this.run(() => this.client.hmget(blobKey(digest), ...DESCRIPTOR_FIELDS));
    return toDescriptor(digest, fields);
  }

  async setDescriptor(digest: string, descriptor: BlobDescriptor): Promise<void> {
    validateDigest(digest);
    const desc = validateDescriptor(descriptor);
    const fields = ['digest', desc.digest, 'size', String(desc.size), 'mediatype', desc.mediaType];
    await this.run(async () => {
      // One key: a single HSET is atomic on its own (and one command instead of MULTI, HSET, EXEC).
      if (desc.digest === digest) return void (await this.client.hset(blobKey(digest), ...fields));
      const m = this.client.multi();
      for (const d of keysFor(digest, desc)) m.hset(blobKey(d), ...fields);
      await this.exec(m);
    });
  }

  async clear(digest: string): Promise<void> {
    validateDigest(digest);
    // HDEL of exactly the fields setDescriptor writes (the original deleted `length` and left `size`); layer
    // info fields sharing the hash are left alone, and Redis drops the key once the hash is empty.
    await this.run(() => this.client.hdel(blobKey(digest), ...DESCRIPTOR_FIELDS));
  }

  repositoryScoped(repo: string): BlobDescriptorCache {
    return new RedisRepositoryScoped(this, validateRepository(repo));
  }

  /** @internal */
  runOp<T>(fn: () => Promise<T>): Promise<T> {
    return this.run(fn);
  }

  /** @internal */
  execOp(multi: ChainableCommander): Promise<unknown[]> {
    return this.exec(multi);
  }
}

function keysFor(digest: string, desc: BlobDescriptor): string[] {
  return desc.digest === digest ? [digest] : [digest, desc.digest];
}

function toDescriptor(digest: string, [d, size, mediaType]: Array<string | null>, repoMediaType?: string | null): BlobDescriptor {
  const n = parseSize(size);
  // A partial or foreign entry is a miss: this is a cache, the backend has the truth.
  if (!d || n === undefined || !mediaType) throw unknown(digest);
  return { digest: d, size: n, mediaType: repoMediaType || mediaType };
}

class RedisRepositoryScoped implements BlobDescriptorCache {
  constructor(
    private readonly parent: RedisBlobDescriptorCache,
    private readonly repo: string,
  ) {}

  async stat(digest: string): Promise<BlobDescriptor> {
    validateDigest(digest);
    const [member, fields, mediaType] = await this.parent.runOp(() =>
      this.parent.execOp(
        this.parent.client
          .multi()
          .sismember(repositoryBlobsKey(this.repo), digest)
          .hmget(blobKey(digest), ...DESCRIPTOR_FIELDS)
          .hget(repositoryBlobKey(this.repo, digest), 'mediatype'),
      ),
    );
    if (member !== 1) throw unknown(digest);
    return toDescriptor(digest, fields as Array<string | null>, mediaType as string | null);
  }

  async setDescriptor(digest: string, descriptor: BlobDescriptor): Promise<void> {
    validateDigest(digest);
    const desc = validateDescriptor(descriptor);
    await this.parent.runOp(async () => {
      const m = this.parent.client.multi();
      for (const d of keysFor(digest, desc)) {
        // Global: digest and size are facts about the content; the media type is set only if absent, so a
        // repository's media type never changes the global entry.
        m.hset(blobKey(d), 'digest', desc.digest, 'size', String(desc.size));
        m.hsetnx(blobKey(d), 'mediatype', desc.mediaType);
        m.sadd(repositoryBlobsKey(this.repo), d);
        m.hset(repositoryBlobKey(this.repo, d), 'digest', desc.digest, 'mediatype', desc.mediaType);
      }
      await this.parent.execOp(m);
    });
  }

  async clear(digest: string): Promise<void> {
    validateDigest(digest);
    await this.parent.runOp(() =>
      this.parent.execOp(
        this.parent.client
          .multi()
          .srem(repositoryBlobsKey(this.repo), digest)
          .del(repositoryBlobKey(this.repo, digest))
          .hdel(blobKey(digest), ...DESCRIPTOR_FIELDS),
      ),
    );
  }

  repositoryScoped(repo: string): BlobDescriptorCache {
    return this.parent.repositoryScoped(repo);
  }
}
