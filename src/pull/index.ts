/**
 * `pull`: an image or artifact through the mote cache into an OCI layout (`oci:`) or archive (`oci-archive:`).
 * This module loads the registry client and tar-stream only when a pull runs.
 */
export { pull, defaultPullCacheDir, type PullOptions, type PullResult, type PullProgressEvent, type PulledManifest, type BlobSourceKind } from './pull.js';
export { parseDestination, formatDestination, isValidTag, type PullDestination, type DestinationTransport } from './destination.js';
export { parsePlatform, formatPlatform, hostPlatform, selectManifest, platformScore, availablePlatforms, type PlatformSpec } from './platform.js';
export { parseDocument, validateDescriptor, type ParsedDocument, type ParsedIndex, type ParsedManifest } from './manifest.js';
export { readOciArchive, writeOciArchive, safeEntryPath, type ExtractedArchive } from './archive.js';
export { writeOciLayout, readLayoutIndex } from './layout-writer.js';
export { mergeLayoutIndex, REF_NAME_ANNOTATION, type LayoutIndex, type ImageToWrite, type BlobSource, type BlobPlacement } from './layout.js';
export { UnsafeArchiveError, InvalidDestinationError, InvalidPlatformError, PlatformNotFoundError, InvalidManifestError } from './errors.js';
