/**
 * The store's blob-info cache as a pull uses it: opened on the first record (a layer downloaded from the registry),
 * so that a warm pull, which downloads nothing, never opens the database. It is an optimisation (where else a blob
 * can be found): if it cannot be opened, records are dropped and lookups find nothing, and the pull goes on.
 */
import { blobInfoCacheFor } from '../blobinfo/store-cache.js';
import type { BlobInfoCache, CandidateLocation, KnownLocation } from '../blobinfo/types.js';
import type { FileMoteCache } from '../store/file-cache.js';

export class PullBlobInfo implements BlobInfoCache {
  readonly #store: FileMoteCache;
  #opened: Promise<BlobInfoCache | undefined> | undefined;

  constructor(store: FileMoteCache) {
    this.#store = store;
  }

  #cache(): Promise<BlobInfoCache | undefined> {
    this.#opened ??= blobInfoCacheFor(this.#store).catch(() => undefined);
    return this.#opened;
  }

  async recordKnownLocation(transport: string, scope: string, digest: string, location: string): Promise<void> {
    await (await this.#cache())?.recordKnownLocation(transport, scope, digest, location);
  }

  async recordKnownLocations(entries: Iterable<KnownLocation>): Promise<void> {
    await (await this.#cache())?.recordKnownLocations(entries);
  }

  async recordDigestUntransformedPair(anyDigest: string, untransformed: string): Promise<void> {
    await (await this.#cache())?.recordDigestUntransformedPair(anyDigest, untransformed);
  }

  async untransformedDigest(digest: string): Promise<string | undefined> {
    return (await this.#cache())?.untransformedDigest(digest);
  }

  async recordDigestTransformerName(digest: string, name: string): Promise<void> {
    await (await this.#cache())?.recordDigestTransformerName(digest, name);
  }

  async candidateLocations(...args: Parameters<BlobInfoCache['candidateLocations']>): Promise<CandidateLocation[]> {
    return (await (await this.#cache())?.candidateLocations(...args)) ?? [];
  }

  async forgetLocations(transport: string, scope: string, digests: Iterable<string>): Promise<void> {
    await (await this.#cache())?.forgetLocations(transport, scope, digests);
  }

  /** Closes the database if it was opened. */
  async close(): Promise<void> {
    const opened = this.#opened;
    this.#opened = Promise.resolve(undefined);
    await (await opened)?.close();
  }
}
