/** OCI itself: media types, descriptors, manifests and indexes, platforms, the name grammar, image-layout files. */
export {
  MediaType,
  DEFAULT_MEDIA_TYPE,
  MANIFEST_ACCEPT,
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  FOREIGN_LAYER_MEDIA_TYPES,
  isIndexMediaType,
  isManifestMediaType,
  isValidMediaType,
} from './media-types.js';
export { validateDescriptor, type Descriptor, type Platform } from './descriptor.js';
export { parseDocument, MAX_MANIFEST_BYTES, type ParsedDocument, type ParsedIndex, type ParsedManifest } from './manifest.js';
export { parsePlatform, formatPlatform, hostPlatform, selectManifest, platformScore, availablePlatforms, type PlatformSpec } from './platform.js';
export { isValidTag, isValidRepository, isValidRegistryHost, MAX_NAME_LENGTH } from './names.js';
export {
  OCI_LAYOUT_FILE,
  OCI_LAYOUT_CONTENT,
  INDEX_FILE,
  REF_NAME_ANNOTATION,
  MAX_INDEX_BYTES,
  blobRelPath,
  emptyLayoutIndex,
  checkOciLayoutFile,
  parseLayoutIndex,
  mergeLayoutIndex,
  type LayoutIndex,
} from './image-layout.js';
export { InvalidManifestError, InvalidPlatformError, PlatformNotFoundError, InvalidLayoutError } from './errors.js';
