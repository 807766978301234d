/**
 * `pull`: an image or artifact through the mote cache into an OCI layout (`oci:`) or archive (`oci-archive:`).
 * This module loads the registry client and tar-stream only when a pull runs.
 */
export { pull, defaultPullCacheDir } from './pull.js';
export { fetchImageManifest, fetchImageConfig, MAX_CONFIG_BYTES, type InspectOptions, type InspectedDocument } from './inspect.js';
export type { PullOptions, PullResult, PullProgressEvent, PullBlobKind, PulledManifest, PullWarning, BlobSourceKind } from './types.js';
export {
  parseDestination,
  formatDestination,
  readOciArchive,
  writeOciArchive,
  safeEntryPath,
  writeOciLayout,
  readLayoutIndex,
  type PullDestination,
  type DestinationTransport,
  type ExtractedArchive,
  type ArchiveExtra,
  type TarHeader,
  type ImageToWrite,
  type BlobSource,
  type BlobPlacement,
} from './destination/index.js';
export { UnsafeArchiveError, InvalidDestinationError, OfflineMissError } from './errors.js';
export { listRefs, readRef, recordRef, forgetRef, offlineDigest, refsDir, MAX_LISTED_REFS, type CachedRef } from './refs.js';
export { PullTimeoutError, MAX_DEADLINE_MS } from './deadline.js';
