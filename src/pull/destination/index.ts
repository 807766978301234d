/** Where a pull writes: `oci:<dir>[:tag]` layouts and `oci-archive:<file>[:tag]` archives, and where their blob bytes come from. */
export { parseDestination, formatDestination, normalizeDestination, type PullDestination, type DestinationTransport } from './parse.js';
export { writeOciLayout, readLayoutIndex, inspectLayoutDir, type WriteOptions } from './oci-dir.js';
export { writeOciArchive, readOciArchive, inspectArchive, safeEntryPath, type ExtractedArchive, type ArchiveExtra, type TarHeader } from './oci-archive.js';
export { cacheBlobSource, fileBlobSource, type BlobSource, type BlobPlacement, type ImageToWrite } from './blob-source.js';
