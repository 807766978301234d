/**
 * The overall deadline of a pull (`deadlineMs`, `mote pull --timeout`). Each request and body has its own bounds
 * (timeouts, retries, the minimum transfer rate), but a pull of many blobs from a registry that is merely slow
 * could still take any time; the deadline bounds the whole. It is one more AbortSignal: every wait of the pull
 * already ends when its signal fires.
 */
import { ErrorCategory, MoteError, errorCategory } from '../errors.js';

/** The largest delay a Node timer honours (a longer one would fire at once). */
export const MAX_DEADLINE_MS = 2 ** 31 - 1;

/** The pull did not finish within its deadline. Nothing was written to the destination. */
export class PullTimeoutError extends MoteError {
  readonly reference: string;
  readonly deadlineMs: number;
  constructor(reference: string, deadlineMs: number, cause: unknown) {
    super('ERR_PULL_TIMEOUT', `pull ${reference}: not done within its deadline of ${deadlineMs / 1000} s`, {
      cause,
      category: ErrorCategory.Unavailable,
    });
    this.reference = reference;
    this.deadlineMs = deadlineMs;
  }
}

/** The signal a pull runs under: the caller's, and the deadline's when there is one. */
export function deadlineSignal(signal: AbortSignal | undefined, deadlineMs: number | undefined): { signal: AbortSignal | undefined; deadline: AbortSignal | undefined } {
  if (deadlineMs === undefined) return { signal, deadline: undefined };
  const deadline = AbortSignal.timeout(deadlineMs);
  return { signal: signal ? AbortSignal.any([signal, deadline]) : deadline, deadline };
}

/**
 * `err` as the pull's failure: a PullTimeoutError when it is the deadline that stopped it (the deadline fired, the
 * caller's own signal did not, and `err` is the abort that followed); any other failure is itself, even if the
 * deadline happened to pass while it was being reported.
 */
export function deadlineError(err: unknown, reference: string, deadlineMs: number | undefined, deadline: AbortSignal | undefined, own: AbortSignal | undefined): unknown {
  if (!deadline?.aborted || own?.aborted || deadlineMs === undefined) return err;
  const abort = errorCategory(err) === ErrorCategory.Aborted || (err as { name?: unknown } | null)?.name === 'TimeoutError';
  return abort ? new PullTimeoutError(reference, deadlineMs, err) : err;
}
