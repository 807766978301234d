export { PullThroughCache, type PullThroughCacheOptions } from './cache.js';
export { PullThroughReads, type FetchOptions, type PullThroughSettings } from './reads.js';
export { sweepFetchState } from './sweep.js';
export type { FetchProgress, FallbackProgress, FetchHint } from './types.js';
