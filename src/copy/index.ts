/**
 * `copy`: an image between registries (`docker://`), OCI layouts (`oci:`) and archives (`oci-archive:`),
 * written through the mote store, with layer compression variants. Loads the registry client only when needed.
 */
export { copy } from './copy.js';
export type { CopyOptions, CopyResult, CopyProgressEvent, LayerCompression, PushKind } from './types.js';
export { InvalidCopySourceError, SignedImageError } from './errors.js';
export { parseEndpoint, formatEndpoint, type CopyEndpoint } from './transports.js';
export { BlobCache } from './blob-cache.js';
