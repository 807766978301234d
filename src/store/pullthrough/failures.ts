/**
 * How the download tells failures apart: lost locks (start over), local failures (never retried), short streams
 * (retried like interruptions), and the source's failures, judged by category (see `ErrorCategory`), never by a
 * list of some source's codes.
 */
import { AbortError, ErrorCategory, errorCategory } from '../../errors.js';
import { asStoreError } from '../file/errors.js';

/** Our lock or our partial was taken away (stale takeover, sweep): start over. Never surfaces past a fetch. */
export class LockLostError extends Error {}

/** A local failure (writing the partial): not the source's fault, never retried. */
export class LocalError extends Error {
  constructor(readonly inner: unknown) {
    super('local failure');
  }
}

/** The source's stream ended before `size` bytes: retried like an interruption. */
export class ShortStreamError extends Error {}

/**
 * Failures another attempt cannot fix: the source does not have the mote, refuses us (credentials, policy), was
 * told to stop, the input is unusable, the bytes are wrong, or the disk is full. And `unavailable`: the source
 * already applied its own bounds before giving up (a registry retried with its backoff, or its body fell under the
 * minimum transfer rate): retrying here would multiply its retries, and resuming a body that trickles would go on
 * forever, each attempt bringing a few bytes (progress, by the rule below).
 */
const FINAL: ReadonlySet<string> = new Set([
  ErrorCategory.NotFound,
  ErrorCategory.Invalid,
  ErrorCategory.Integrity,
  ErrorCategory.Denied,
  ErrorCategory.Unavailable,
  ErrorCategory.Unsupported,
  ErrorCategory.Aborted,
  ErrorCategory.NoSpace,
]);

/**
 * Whether a source failure is final (see FINAL), when opening a stream or mid-stream alike. Everything else (an
 * interruption: a body cut short, which a registry reports as a protocol error, a stalled chunk, a raw connection
 * reset) is retried, resuming where it stopped, and ends after attempts in a row that bring no new byte.
 */
export function isFinal(err: unknown): boolean {
  const category = errorCategory(err);
  return category !== undefined && FINAL.has(category);
}

export function isAbort(err: unknown): boolean {
  return errorCategory(err) === ErrorCategory.Aborted;
}

export function asAbort(err: unknown): unknown {
  return err instanceof AbortError ? err : new AbortError(err);
}

/** Runs a local filesystem step: ENOSPC/EDQUOT become NoSpaceError. */
export function localSync<T>(fn: () => T, root: string): T {
  try {
    return fn();
  } catch (err) {
    throw asStoreError(err, root);
  }
}
