/**
 * The retry policy, as pure functions (so its arithmetic is unit-tested without timers). Retries end: a bounded
 * number of attempts, bounded waits, and an AbortSignal stops the wait at once (`sleep` of internal/abort).
 */
import { RETRY_DEFAULTS } from '../options.js';
import type { RetryOptions } from '../types.js';

export interface ResolvedRetryOptions {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
}

export function resolveRetryOptions(o: RetryOptions = {}): ResolvedRetryOptions {
  const pos = (v: number | undefined, d: number, min = 0) => (typeof v === 'number' && Number.isFinite(v) && v >= min ? v : d);
  return {
    maxAttempts: Math.floor(pos(o.maxAttempts, RETRY_DEFAULTS.maxAttempts, 1)),
    baseDelayMs: pos(o.baseDelayMs, RETRY_DEFAULTS.baseDelayMs),
    maxDelayMs: pos(o.maxDelayMs, RETRY_DEFAULTS.maxDelayMs),
    maxRetryAfterMs: pos(o.maxRetryAfterMs, RETRY_DEFAULTS.maxRetryAfterMs),
  };
}

/**
 * Exponential backoff with full jitter (AWS's "full jitter": uniformly random in [0, cap]) before retry number
 * `retry` (0 for the first retry): the cap doubles from `baseDelayMs` up to `maxDelayMs`. Full jitter spreads
 * clients that failed together so they do not come back together.
 */
export function backoffDelay(retry: number, o: Pick<ResolvedRetryOptions, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const cap = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.min(retry, 30));
  return Math.floor(random() * cap);
}

/**
 * `Retry-After` in milliseconds from `now`: delta-seconds (`120`) or an HTTP date. `undefined` when absent or
 * unparsable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  if (!/[a-zA-Z]/.test(s)) return undefined; // "1.5", "-3": not allowed by RFC 9110
  const t = Date.parse(s);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, t - now);
}

/** Statuses worth another attempt: rate limited, or the server (or a proxy in front of it) failed. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** A connection-level failure worth another attempt (as opposed to a TLS or usage error, which will not heal). */
export function isRetryableError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_CODES.has(code)) return true;
  }
  return false;
}

/** What to do after a failed attempt. */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: 'attempts' | 'retry-after-too-long' };

/**
 * Whether attempt number `attempt` (1-based) that failed retryably should be followed by another, and after
 * how long: `Retry-After` when the server gave one (never longer than `maxRetryAfterMs`: a longer one ends the
 * retries instead of blocking for minutes), else the jittered backoff.
 */
export function decideRetry(attempt: number, retryAfterMs: number | undefined, o: ResolvedRetryOptions, random?: () => number): RetryDecision {
  if (attempt >= o.maxAttempts) return { retry: false, reason: 'attempts' };
  if (retryAfterMs !== undefined) {
    if (retryAfterMs > o.maxRetryAfterMs) return { retry: false, reason: 'retry-after-too-long' };
    return { retry: true, delayMs: retryAfterMs };
  }
  return { retry: true, delayMs: backoffDelay(attempt - 1, o, random) };
}
