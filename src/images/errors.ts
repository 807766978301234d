import { ErrorCategory, MoteError } from '../errors.js';

/**
 * The metadata cache has nothing yet for what was asked (the seed's `ErrNotCached`): not an upstream "not found".
 * The message says what to do about it.
 */
export class NotCachedError extends MoteError {
  readonly what: string;
  constructor(what: string, hint = 'run `mote warm` for it, or ask again without --offline to fetch it now') {
    super('ERR_MOTE_NOT_CACHED', `${what} is not in the metadata cache yet: ${hint}`, { category: ErrorCategory.NotFound });
    this.what = what;
  }
}

/** The last refresh of a repository never succeeded: its error, and nothing known to answer from. */
export class RepositoryRefreshError extends MoteError {
  constructor(repository: string, message: string, code?: string) {
    super('ERR_MOTE_REFRESH_FAILED', `${repository} has never been read successfully; last error${code ? ` (${code})` : ''}: ${message}`, {
      category: ErrorCategory.Unavailable,
    });
  }
}

/** An image the cache found unreadable (it lied about its content, was malformed, or beyond a bound), and why. */
export class ImageUnreadableError extends MoteError {
  constructor(image: string, why: { code: string; message: string }) {
    super('ERR_MOTE_IMAGE_UNREADABLE', `${image} could not be read (${why.code}): ${why.message}`, { category: ErrorCategory.Integrity });
  }
}
