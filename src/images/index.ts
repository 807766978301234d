/**
 * `motecache/images`: the image metadata cache. `ImageMetadataCache` answers tags, image facts and "latest by a
 * policy" from a metadata store (see `motecache/metadata`), fetching from a registry what it lacks;
 * `refreshRepository` is one refresh with the fewest requests; the policies are Flux v2's.
 */
export type { ImageInfo, ImagePlatform, RepositoryState, TagState } from './types.js';
export { ImageMetadataCache, repositoryOf, type ImageMetadataCacheOptions, type ReadOptions } from './cache.js';
export { refreshRepository, type RefreshOptions, type RequestKind, type TagChange } from './refresh.js';
export { fetchImageInfo, parseConfig, type FetchImageOptions } from './fetch.js';
export { latestTag, type LatestAnswer } from './latest.js';
export { parsePolicy, selectLatest, needsImageFacts, MAX_TAG_LENGTH, FILTER_TIME_LIMIT_MS, type ImagePolicy, type PolicySpec, type LatestTag, type SortOrder, type TagFilter } from './policy.js';
export { isDue, nextTagState } from './deadline.js';
export { NotCachedError, RepositoryRefreshError } from './errors.js';
export { NEW_TAG_INTERVAL_MS, MIN_INTERVAL_MS, MAX_INTERVAL_MS, EXCLUDED_INTERVAL_MS, DEFAULT_REFRESH_CONCURRENCY } from './options.js';
