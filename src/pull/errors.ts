/**
 * Errors of `pull()` that are not the registry's or the store's. Codes are stable; the CLI maps them to exit codes.
 */
import { AbortError, ErrorCategory, MoteError, NoSpaceError } from '../errors.js';
import { isErrno } from '../internal/errno.js';
import { InvalidLayoutError } from '../oci/errors.js';

/**
 * An `oci-archive` contains an entry that could escape the extraction directory or break the layout: an absolute
 * path, a `..` component, a link pointing outside the archive's tree, or anything but a regular file under
 * `blobs/`. Nothing was extracted, nothing was written.
 */
export class UnsafeArchiveError extends MoteError {
  readonly archive: string;
  readonly entry: string;
  constructor(archive: string, entry: string, reason: string) {
    super('ERR_UNSAFE_ARCHIVE', `unsafe archive ${archive}: entry ${JSON.stringify(entry).slice(0, 300)}: ${reason}`, { category: ErrorCategory.Integrity });
    this.archive = archive;
    this.entry = entry;
  }
}

/** A destination string (`oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`) is malformed, or names something unusable. */
export class InvalidDestinationError extends MoteError {
  readonly destination: string;
  constructor(destination: string, reason: string) {
    super('ERR_INVALID_DESTINATION', `invalid destination ${JSON.stringify(destination).slice(0, 300)}: ${reason}`, { category: ErrorCategory.Invalid });
    this.destination = destination;
  }
}

/** Runs an OCI layout check (`oci-layout`, `index.json`) of a destination, reporting its failure as the destination's. */
export function checkedAsDestination<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof InvalidLayoutError) throw new InvalidDestinationError(err.where, err.reason);
    throw err;
  }
}

/**
 * What a destination writer rejects with when writing `where` failed with `err`: an {@link AbortError} when
 * `signal` has fired (whatever the abort surfaced as: a stream's, Node's, tar-stream's error), a
 * {@link NoSpaceError} naming `where` for ENOSPC/EDQUOT (also one raised under a temporary name beside it),
 * else `err` itself.
 */
export function destinationFailure(err: unknown, where: string, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return err instanceof AbortError ? err : new AbortError(signal.reason);
  if (err instanceof NoSpaceError) return err.path === where ? err : new NoSpaceError(where, err.cause);
  if (isErrno(err, 'ENOSPC', 'EDQUOT')) return new NoSpaceError(where, err);
  return err;
}

/**
 * `pull` with `offline`: what it needs is not in the cache (the tag was never pulled, or a manifest or blob has
 * been pruned since). `ERR_MOTE_NOT_CACHED`, category `not-found`; nothing was written.
 */
export class OfflineMissError extends MoteError {
  constructor(what: string) {
    super('ERR_MOTE_NOT_CACHED', `${what} is not in the cache, and --offline allows no registry: pull it once without --offline`, { category: ErrorCategory.NotFound });
  }
}
