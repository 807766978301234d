/**
 * `pull`: an image or artifact through the mote cache into an OCI layout (`oci:`) or archive (`oci-archive:`).
 * This module loads the registry client and tar-stream only when a pull runs.
 */
export { pull, defaultPullCacheDir, type PullOptions, type PullResult, type PullProgressEvent, type PulledManifest, type BlobSourceKind } from './pull.js';
export { parseDestination, formatDestination, type PullDestination, type DestinationTransport } from './destination.js';
export { readOciArchive, writeOciArchive, safeEntryPath, type ExtractedArchive } from './archive.js';
export { writeOciLayout, readLayoutIndex } from './layout-writer.js';
export { type ImageToWrite, type BlobSource, type BlobPlacement } from './layout.js';
export { UnsafeArchiveError, InvalidDestinationError } from './errors.js';
