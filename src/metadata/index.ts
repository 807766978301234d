/**
 * The image metadata store (issue 11): a key/value backend contract with four backends (memory, SQLite, Redis,
 * memcached), and repository states, image facts and leases on any of them.
 */
export { MAX_VALUE_BYTES, type KeyValueStore, type ImageMetadataStore } from './types.js';
export type { ImageInfo, ImagePlatform, RepositoryState, TagState } from '../images/types.js';
export { MAX_KEY_BYTES, KEY_VERSION, isValidKey, metadataKeys } from './keys.js';
export { MemoryKeyValueStore, DEFAULT_MEMORY_MAX_BYTES, type MemoryKeyValueStoreOptions } from './memory.js';
export { SqliteKeyValueStore, METADATA_APPLICATION_ID, metadataDbPath, type SqliteKeyValueStoreOptions } from './sqlite.js';
export { RedisKeyValueStore, type RedisKeyValueStoreOptions } from './redis.js';
export { MemcachedKeyValueStore, DEFAULT_MEMCACHED_TIMEOUT_MS, type MemcachedKeyValueStoreOptions } from './memcached.js';
export { KvImageMetadataStore, type KvImageMetadataStoreOptions } from './store.js';
export { validateRepositoryName, checkRepositoryState, checkImageInfo } from './validate.js';
export { openKeyValueStore, openImageMetadataStore } from './spec.js';
