import { MemoryBlobInfoCache } from './memory.js';
import { SqliteBlobInfoCache, type SqliteBlobInfoCacheOptions } from './sqlite.js';
import type { BlobInfoCache } from './types.js';

/**
 * The original's `NewCache(path)`: a {@link MemoryBlobInfoCache} for `''` or no path, else a
 * {@link SqliteBlobInfoCache} on that file (created if missing; `CacheUnavailableError` if it cannot be used).
 */
export function openBlobInfoCache(path?: string, options?: SqliteBlobInfoCacheOptions): BlobInfoCache {
  return path === undefined || path === '' ? new MemoryBlobInfoCache() : new SqliteBlobInfoCache(path, options);
}
