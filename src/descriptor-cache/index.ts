/** The registry's metadata caches: layer info and blob descriptors, in memory or in Redis. */
export type { LayerInfoCache, LayerMeta, BlobDescriptorCache, BlobDescriptor } from './types.js';
export { MemoryLayerInfoCache, MemoryBlobDescriptorCache, type MemoryCacheOptions } from './memory.js';
export { RedisLayerInfoCache, RedisBlobDescriptorCache, DEFAULT_REDIS_TIMEOUT_MS, redisCacheKeys, type RedisCacheOptions } from './redis.js';
