import { ALGORITHMS, isAlgorithm, type DigestAlgorithm } from '../../digest/index.js';
import { InvalidArgumentError } from '../../errors.js';
import type { VerifyOnRead } from '../types.js';

/** A size argument: a whole number of bytes, or -1 for "unknown". */
export function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < -1) {
    throw new InvalidArgumentError(`size must be a whole number of bytes (or -1 for unknown), got ${size}`);
  }
}

/** Longest media type kept: RFC 6838 bounds type and subtype at 127 characters each (parameters fit as well). */
export const MAX_MEDIA_TYPE_LENGTH = 255;
/** Printable ASCII: what a Content-Type header, `mote ls` and the index can carry. */
const PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * A media type as stored with a mote (`createMote`, `put`, `commitMote`): a string of printable ASCII, at most
 * {@link MAX_MEDIA_TYPE_LENGTH} long; empty means the default. Not OCI's strict grammar: users store what their
 * registry or tool sent (`text/plain; charset=utf-8`, short private names), but nothing that breaks a line or a
 * header (a newline, a control character) nor a megabyte in the index.
 */
export function checkMediaType(where: string, mediaType: unknown): void {
  if (typeof mediaType !== 'string') throw new InvalidArgumentError(`${where}: mediaType must be a string`);
  if (mediaType.length > MAX_MEDIA_TYPE_LENGTH) {
    throw new InvalidArgumentError(`${where}: media type is ${mediaType.length} characters long (at most ${MAX_MEDIA_TYPE_LENGTH})`);
  }
  if (!PRINTABLE.test(mediaType)) {
    throw new InvalidArgumentError(`${where}: media type ${JSON.stringify(mediaType)} has characters other than printable ASCII`);
  }
}

/** The settings of a file store (see `FileMoteCacheOptions` for their meaning and defaults). */
export interface FileStoreSettings {
  algorithm?: DigestAlgorithm | undefined;
  linkOnRead?: boolean | undefined;
  durable?: boolean | undefined;
  verifyOnRead?: VerifyOnRead | undefined;
  staleAfterMs?: number | undefined;
}

/** The settings with their defaults, checked (`InvalidArgumentError` for anything unusable). */
export function resolveSettings(root: unknown, settings: FileStoreSettings): Required<{ [K in keyof FileStoreSettings]: NonNullable<FileStoreSettings[K]> }> {
  if (typeof root !== 'string' || root === '') throw new InvalidArgumentError('FileMoteCache: root must be a non-empty path');
  const algorithm = settings.algorithm ?? 'sha256';
  if (!isAlgorithm(algorithm)) {
    throw new InvalidArgumentError(`FileMoteCache: algorithm must be one of ${Object.keys(ALGORITHMS).join(', ')}, got ${String(algorithm)}`);
  }
  const verifyOnRead = settings.verifyOnRead ?? 'never';
  if (verifyOnRead !== 'never' && verifyOnRead !== 'always') {
    throw new InvalidArgumentError(`FileMoteCache: verifyOnRead must be 'never' or 'always', got ${String(verifyOnRead)}`);
  }
  const staleAfterMs = settings.staleAfterMs ?? 3_600_000;
  if (!(staleAfterMs >= 0)) throw new InvalidArgumentError('FileMoteCache: staleAfterMs must be >= 0');
  return { algorithm, linkOnRead: settings.linkOnRead ?? true, durable: settings.durable ?? true, verifyOnRead, staleAfterMs };
}
