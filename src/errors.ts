/**
 * Typed errors. Every error motecache throws on purpose carries a stable `code` that callers (and the CLI's
 * exit codes) can switch on; messages are for humans and may change.
 */

/** Base class: `code` is stable, `message` is not. */
export class MoteError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The digest is not `<algorithm>:<encoded>` of a supported algorithm. Thrown before any filesystem access. */
export class InvalidDigestError extends MoteError {
  readonly digest: string;
  constructor(digest: unknown, reason: string) {
    super('ERR_INVALID_DIGEST', `invalid digest ${JSON.stringify(String(digest)).slice(0, 200)}: ${reason}`);
    this.digest = String(digest);
  }
}

/** The mote is in neither the cache nor its fallback (or, for `moteWriter`, was never announced by `createMote`). */
export class MoteNotFoundError extends MoteError {
  readonly digest: string;
  constructor(digest: string, detail = 'not found in the cache') {
    super('ERR_MOTE_NOT_FOUND', `mote ${digest}: ${detail}`);
    this.digest = digest;
  }
}

/** The bytes written or committed do not have the announced size. Nothing was published. */
export class SizeMismatchError extends MoteError {
  readonly digest: string;
  readonly expected: number;
  readonly actual: number;
  constructor(digest: string, expected: number, actual: number) {
    super('ERR_MOTE_SIZE_MISMATCH', `mote ${digest}: expected ${expected} bytes, got ${actual}`);
    this.digest = digest;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The bytes do not hash to the announced digest. Nothing was published (on read: the corrupt mote was evicted). */
export class DigestMismatchError extends MoteError {
  readonly expected: string;
  readonly actual: string;
  constructor(expected: string, actual: string) {
    super('ERR_MOTE_DIGEST_MISMATCH', `content hashes to ${actual}, expected ${expected}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/** The filesystem holding the cache is full (ENOSPC/EDQUOT). Nothing was published; the temporary is removed. */
export class NoSpaceError extends MoteError {
  readonly path: string;
  constructor(path: string, cause: unknown) {
    super('ERR_MOTE_NO_SPACE', `no space left on the device holding ${path}`, { cause });
    this.path = path;
  }
}

/** An argument other than a digest is unusable (a negative size, an unknown mode, ...). */
export class InvalidArgumentError extends MoteError {
  constructor(message: string) {
    super('ERR_MOTE_INVALID_ARGUMENT', message);
  }
}

/** The operation was cancelled through its `AbortSignal`. */
export class AbortError extends MoteError {
  constructor(cause?: unknown) {
    super('ABORT_ERR', 'the operation was aborted', { cause });
  }
}

/** An image reference (`registry[:port]/repo[:tag][@digest]`) is malformed. */
export class InvalidReferenceError extends MoteError {
  readonly reference: string;
  constructor(reference: unknown, reason: string) {
    super('ERR_INVALID_REFERENCE', `invalid reference ${JSON.stringify(String(reference)).slice(0, 300)}: ${reason}`);
    this.reference = String(reference);
  }
}

/** A descriptor (digest, size, media type) is unusable: bad digest, negative size, missing media type. */
export class InvalidDescriptorError extends MoteError {
  constructor(reason: string) {
    super('ERR_INVALID_DESCRIPTOR', `invalid descriptor: ${reason}`);
  }
}

/** A metadata cache has no entry for this blob (the registry's `ErrBlobUnknown` / layer-info `ErrNotFound`). */
export class BlobUnknownError extends MoteError {
  readonly digest: string;
  constructor(digest: string) {
    super('ERR_BLOB_UNKNOWN', `blob ${digest} unknown to the cache`);
    this.digest = digest;
  }
}

/** A metadata store (Redis, a SQLite file) cannot be reached or used; raised within a bounded time. */
export class CacheUnavailableError extends MoteError {
  constructor(what: string, cause?: unknown) {
    super('ERR_CACHE_UNAVAILABLE', `${what} is unavailable${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause });
  }
}

/**
 * The fallback kept failing: five attempts in a row brought no new byte (or a
 * fallback without `moteReaderFrom` failed that often before the end). `cause` is the last failure. Nothing was
 * published; the bytes received so far stay in `.mote/partial/` for the next attempt to resume (the sweep
 * removes them once stale).
 */
export class FallbackFetchError extends MoteError {
  readonly digest: string;
  readonly attempts: number;
  readonly received: number;
  constructor(digest: string, attempts: number, received: number, cause: unknown) {
    super(
      'ERR_MOTE_FETCH_FAILED',
      `mote ${digest}: fallback download failed after ${attempts} attempts (${received} bytes kept for a resume): ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
    this.digest = digest;
    this.attempts = attempts;
    this.received = received;
  }
}

/** True for a Node system error with one of the given codes. */
export function isErrno(err: unknown, ...codes: string[]): err is NodeJS.ErrnoException {
  return typeof err === 'object' && err !== null && codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

/** Maps ENOSPC/EDQUOT to {@link NoSpaceError}; anything else is returned as it is. */
export function asStoreError(err: unknown, path: string): unknown {
  return isErrno(err, 'ENOSPC', 'EDQUOT') ? new NoSpaceError(path, err) : err;
}
