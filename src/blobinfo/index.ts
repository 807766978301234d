export * from './types.js';
export { MemoryBlobInfoCache } from './memory.js';
export { SqliteBlobInfoCache, BLOBINFO_APPLICATION_ID, type SqliteBlobInfoCacheOptions } from './sqlite.js';
export { openBlobInfoCache } from './open.js';
export { recordLayerSource, locateLayer, locateLayerDigest, LayerBlobInfo, LAYER_SCOPE, type LayerDescriptor } from './locate.js';
export { blobInfoCacheFor, blobInfoPathFor, moteScope, StoreBlobInfoCache, MOTE_TRANSPORT } from './mote.js';
