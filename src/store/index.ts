/** The mote store: its contracts (roles), the file store, the pull-through decorator, and the store that keeps nothing. */
export * from './types.js';
export { hasOtherOrigins, isRangeReadable, type MoteProvider, type MoteIngester, type MoteManager, type MoteCache, type OriginRejecting, type RangeReadable } from './roles.js';
export { FileMoteCache, type FileMoteCacheOptions } from './file-cache.js';
export { PullThroughCache, type PullThroughCacheOptions, type FetchOptions, type FetchProgress, type FetchHint, type FallbackProgress } from './pullthrough/index.js';
export { NilCache } from './nil-cache.js';
export type { MoteLease } from './file/lease.js';
export { BytesTracker } from './bytes-tracker.js';
export { defaultCacheDir, type CacheDirEnv } from './default-dir.js';
