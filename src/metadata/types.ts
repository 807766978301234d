/**
 * The contracts of the image metadata store (issue 11): a small key/value backend contract (memory, SQLite,
 * Redis, memcached all implement it, and one conformance suite checks them all), and the metadata store built on
 * any backend (repository states and image facts, chunked below the backends' value limit, leases for warmers).
 */
import type { ImageInfo, RepositoryState } from '../images/types.js';

/** No value stored in a backend is larger than this (memcached's default item limit is 1 MiB; we stay far below). */
export const MAX_VALUE_BYTES = 64 * 1024;

/**
 * A key/value backend. Keys are printable ASCII without spaces, at most 200 bytes (memcached's limit is 250);
 * values are at most {@link MAX_VALUE_BYTES}. Every method validates its input first (`InvalidArgumentError`,
 * before the backend is asked) and is bounded: a backend that is unreachable, failing or closed gives
 * `CacheUnavailableError` within its time bound. Values are copies both ways.
 */
export interface KeyValueStore {
  readonly kind: 'memory' | 'sqlite' | 'redis' | 'memcached';
  get(key: string): Promise<Buffer | undefined>;
  /** As many values as keys, in order (one round trip where the backend allows; Redis and memcached: 64 keys each). */
  getMany(keys: readonly string[]): Promise<Array<Buffer | undefined>>;
  /** Stores the value; with `ttlMs` it expires after that long, without it never (an earlier TTL is cleared). */
  set(key: string, value: Buffer, options?: { ttlMs?: number }): Promise<void>;
  /** Stores the value only if the key is absent (or expired): true if it was stored. Atomic. */
  add(key: string, value: Buffer, options: { ttlMs: number }): Promise<boolean>;
  /** Deletes the key only if it still holds `expected`: true if it did. Atomic. */
  deleteIf(key: string, expected: Buffer): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Idempotent; every later call rejects with `CacheUnavailableError`. */
  close(): Promise<void>;
}

/**
 * Repository states and image facts on a key/value backend. Large values (a repository with 100,000 tags) are
 * split into chunks of at most MAX_VALUE_BYTES and read back whole or not at all (a reader never sees half of one
 * write and half of another). Image facts are keyed by the immutable digest: stored once.
 *
 * Repository names are canonical `registry/repository`, as `Reference.name` gives them (`docker.io/library/alpine`),
 * else `InvalidArgumentError`; a malformed digest is `InvalidDigestError`; a `TagState` digest may be `''` (not
 * resolved yet). A stored value that cannot be read back whole and valid reads as absent, never as an error.
 */
export interface ImageMetadataStore {
  getRepository(repository: string): Promise<RepositoryState | undefined>;
  /**
   * Stores the state, replacing the stored one; false if `options.keepNewer` kept the stored one instead. With
   * `keepNewer`, a stored state with a later `lastUpdate` (at most `keepNewer.trustUntil`: a later one was written
   * by a clock that ran ahead) is kept, atomically against every other writer of the repository: a slow refresh
   * never puts an older state back over a newer one.
   */
  putRepository(state: RepositoryState, options?: { keepNewer?: { trustUntil: number } }): Promise<boolean>;
  getImage(digest: string): Promise<ImageInfo | undefined>;
  getImages(digests: readonly string[]): Promise<Array<ImageInfo | undefined>>;
  putImage(info: ImageInfo): Promise<void>;
  /**
   * A lease on `name` for `owner` until `ttlMs` from now (several warmers on one store refresh each repository
   * once): true if taken (or already held by `owner`, then extended).
   */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, owner: string): Promise<void>;
  close(): Promise<void>;
}
