/**
 * The seed's (buildah blobcache's) `BlobCache` surface, as thin names over the store a copy writes through:
 * `directory` (the store's root), `hasBlob({digest, size})` and `clearCache()` (a prune to nothing, which keeps
 * what a running copy or pull holds and what a layout still links).
 */
import path from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { validateDigest } from '../digest/index.js';
import { FileMoteCache } from '../store/file-cache.js';

export class BlobCache {
  readonly store: FileMoteCache;

  constructor(store: FileMoteCache | string) {
    this.store = typeof store === 'string' ? new FileMoteCache(path.resolve(store)) : store;
  }

  /** The directory blobs are kept in (the store's root: a valid OCI image layout). */
  get directory(): string {
    return path.resolve(this.store.root);
  }

  /** Whether the store holds the blob (and, when `size` is given, with that size). Validates the digest first. */
  async hasBlob(blob: { digest: string; size?: number }): Promise<boolean> {
    validateDigest(blob.digest);
    if (blob.size !== undefined && (!Number.isSafeInteger(blob.size) || blob.size < -1)) throw new InvalidArgumentError('hasBlob: size must be a whole number');
    const info = await this.store.find(blob.digest);
    return info !== undefined && (blob.size === undefined || blob.size === -1 || info.size === blob.size);
  }

  /** Removes every blob no one holds; returns how many were removed. */
  async clearCache(): Promise<number> {
    return (await this.store.prune(0)).removed;
  }
}
