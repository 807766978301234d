export * from './types.js';
export { FileMoteCache, type FileMoteCacheOptions } from './file-cache.js';
export { NilCache } from './nil-cache.js';
export { BytesTracker } from './bytes-tracker.js';
export type { VerifyOptions } from './verify.js';
export type { FallbackProgress } from './fetch.js';
