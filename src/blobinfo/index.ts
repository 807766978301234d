/** The blob-info cache: where blobs have been seen, and which digests are variants of one another. */
export {
  UNKNOWN_TRANSFORMER,
  UNTRANSFORMED,
  type BlobInfoCache,
  type CandidateLocation,
  type CandidateOptions,
  type KnownLocation,
} from './types.js';
export { MemoryBlobInfoCache } from './memory.js';
export { SqliteBlobInfoCache, BLOBINFO_APPLICATION_ID, type SqliteBlobInfoCacheOptions } from './sqlite.js';
export { openBlobInfoCache } from './open.js';
export { recordLayerSource, locateLayer, locateLayerDigest, LayerBlobInfo, LAYER_SCOPE, type LayerDescriptor } from './locate.js';
export { blobInfoCacheFor, blobInfoPathFor, moteScope, StoreBlobInfoCache, MOTE_TRANSPORT } from './store-cache.js';
