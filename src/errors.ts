/**
 * Typed errors. Every error motecache throws on purpose carries a stable `code` and a `category`. Callers match on
 * the category (a few, as oras-go's errdef) where they need to know what kind of failure it was (gone? wrong
 * bytes? worth retrying?), and on the code where they need the exact one; messages are for humans and may change.
 */
import { textOf } from './internal/describe.js';

/**
 * The kinds of failure callers match on, across layers: a registry's 404 and the store's miss are both
 * `not-found`, a registry's 429 and 503 both `unavailable`. See {@link errorCategory}.
 */
export const ErrorCategory = {
  /** The caller's input is unusable (a bad digest, argument, reference, destination...). Retrying cannot help. */
  Invalid: 'invalid',
  /** What was asked for is not there (a mote, a blob, a tag, a platform). */
  NotFound: 'not-found',
  /** Content is not what it claims to be (size or digest mismatch, an unusable manifest, an unsafe archive). */
  Integrity: 'integrity',
  /** Refused: credentials, permissions, or a connection policy (TLS) the caller did not allow. */
  Denied: 'denied',
  /** A service is unreachable, failing or rate limiting, after the retries it was given. Later may work. */
  Unavailable: 'unavailable',
  /** A peer broke its protocol (a malformed response). Another attempt may get a good one. */
  Protocol: 'protocol',
  /** The operation is not supported here. */
  Unsupported: 'unsupported',
  /** Cancelled through an AbortSignal. */
  Aborted: 'aborted',
  /** The filesystem is full. */
  NoSpace: 'no-space',
} as const;
export type ErrorCategory = (typeof ErrorCategory)[keyof typeof ErrorCategory];

const CATEGORIES: ReadonlySet<string> = new Set(Object.values(ErrorCategory));

/** Base class: `code` and `category` are stable, `message` is not. */
export class MoteError extends Error {
  readonly code: string;
  /** What kind of failure this is; `undefined` for one that fits none (then treat it as a plain failure). */
  readonly category: ErrorCategory | undefined;
  constructor(code: string, message: string, options?: { cause?: unknown; category?: ErrorCategory }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
    this.category = options?.category;
    this.name = new.target.name;
  }
}

/**
 * The category of any error: a MoteError's own (read by property, so errors of another copy of this package are
 * recognised too), an abort from any library (`name === 'AbortError'`), a full disk (ENOSPC/EDQUOT); else undefined.
 */
export function errorCategory(err: unknown): ErrorCategory | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const category = (err as { category?: unknown }).category;
  if (typeof category === 'string' && CATEGORIES.has(category)) return category as ErrorCategory;
  if ((err as { name?: unknown }).name === 'AbortError') return ErrorCategory.Aborted;
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return ErrorCategory.NoSpace;
  return undefined;
}

/** The digest is not `<algorithm>:<encoded>` of a supported algorithm. Thrown before any filesystem access. */
export class InvalidDigestError extends MoteError {
  readonly digest: string;
  constructor(digest: unknown, reason: string) {
    super('ERR_INVALID_DIGEST', `invalid digest ${JSON.stringify(textOf(digest)).slice(0, 200)}: ${reason}`, { category: ErrorCategory.Invalid });
    this.digest = textOf(digest);
  }
}

/** The mote is neither in the store nor in a source it reads through (or, for `moteWriter`, was never announced by `createMote`). */
export class MoteNotFoundError extends MoteError {
  readonly digest: string;
  constructor(digest: string, detail = 'not found in the cache') {
    super('ERR_MOTE_NOT_FOUND', `blob ${digest}: ${detail}`, { category: ErrorCategory.NotFound });
    this.digest = digest;
  }
}

/** The bytes written or committed do not have the announced size. Nothing was published. */
export class SizeMismatchError extends MoteError {
  readonly digest: string;
  readonly expected: number;
  readonly actual: number;
  /** Where the bytes came from, when known: what and from where (`blob from registry.example/team/app`). */
  readonly source: string | undefined;
  constructor(digest: string, expected: number, actual: number, source?: string) {
    super('ERR_MOTE_SIZE_MISMATCH', `blob ${digest}: expected ${expected} bytes, got ${actual}${source ? ` (${source})` : ''}`, {
      category: ErrorCategory.Integrity,
    });
    this.digest = digest;
    this.expected = expected;
    this.actual = actual;
    this.source = source;
  }
}

/** The bytes do not hash to the announced digest. Nothing was published (on read: the corrupt mote was evicted). */
export class DigestMismatchError extends MoteError {
  readonly expected: string;
  readonly actual: string;
  /** Where the bytes came from, when known: what and from where (`manifest from registry.example/team/app`). */
  readonly source: string | undefined;
  constructor(expected: string, actual: string, source?: string) {
    super('ERR_MOTE_DIGEST_MISMATCH', `content hashes to ${actual}, expected ${expected}${source ? ` (${source})` : ''}`, {
      category: ErrorCategory.Integrity,
    });
    this.expected = expected;
    this.actual = actual;
    this.source = source;
  }
}

/**
 * The filesystem holding the cache (or a pull's destination, `path`) is full (ENOSPC/EDQUOT). Nothing was
 * published; the temporary is removed.
 */
export class NoSpaceError extends MoteError {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    super('ERR_MOTE_NO_SPACE', `no space left on the device holding ${path}`, { cause, category: ErrorCategory.NoSpace });
    this.path = path;
  }
}

/** An argument other than a digest is unusable (a negative size, an unknown mode, ...). */
export class InvalidArgumentError extends MoteError {
  constructor(message: string) {
    super('ERR_MOTE_INVALID_ARGUMENT', message, { category: ErrorCategory.Invalid });
  }
}

/** The operation was cancelled through its `AbortSignal`. */
export class AbortError extends MoteError {
  constructor(cause?: unknown) {
    super('ABORT_ERR', 'the operation was aborted', { cause, category: ErrorCategory.Aborted });
  }
}

/** An image reference (`registry[:port]/repo[:tag][@digest]`) is malformed. */
export class InvalidReferenceError extends MoteError {
  readonly reference: string;
  constructor(reference: unknown, reason: string) {
    super('ERR_INVALID_REFERENCE', `invalid reference ${JSON.stringify(textOf(reference)).slice(0, 300)}: ${reason}`, { category: ErrorCategory.Invalid });
    this.reference = textOf(reference);
  }
}

/** A descriptor (digest, size, media type) is unusable: bad digest, negative size, missing media type. */
export class InvalidDescriptorError extends MoteError {
  constructor(reason: string) {
    super('ERR_INVALID_DESCRIPTOR', `invalid descriptor: ${reason}`, { category: ErrorCategory.Invalid });
  }
}

/** A metadata cache has no entry for this blob (the registry's `ErrBlobUnknown` / layer-info `ErrNotFound`). */
export class BlobUnknownError extends MoteError {
  readonly digest: string;
  constructor(digest: string) {
    super('ERR_BLOB_UNKNOWN', `blob ${digest} unknown to the cache`, { category: ErrorCategory.NotFound });
    this.digest = digest;
  }
}

/** A metadata store (Redis, a SQLite file) cannot be reached or used; raised within a bounded time. */
export class CacheUnavailableError extends MoteError {
  constructor(what: string, cause?: unknown) {
    super('ERR_CACHE_UNAVAILABLE', `${what} is unavailable${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause, category: ErrorCategory.Unavailable });
  }
}

/**
 * A pull-through fetch kept failing: five attempts in a row brought no new byte from the source (or a source
 * without `moteReaderFrom` failed that often before the end). `cause` is the last failure. Nothing was
 * published; the bytes received so far stay in `.mote/partial/` for the next attempt to resume (the sweep
 * removes them once stale).
 */
export class FetchFailedError extends MoteError {
  readonly digest: string;
  readonly attempts: number;
  readonly received: number;
  constructor(digest: string, attempts: number, received: number, cause: unknown) {
    super(
      'ERR_MOTE_FETCH_FAILED',
      `blob ${digest}: download from the source failed after ${attempts} attempts (${received} bytes kept for a resume): ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause, category: ErrorCategory.Unavailable },
    );
    this.digest = digest;
    this.attempts = attempts;
    this.received = received;
  }
}

/** @deprecated The earlier name of {@link FetchFailedError} (same class, same code). */
export const FallbackFetchError = FetchFailedError;
/** @deprecated The earlier name of {@link FetchFailedError}. */
export type FallbackFetchError = FetchFailedError;
