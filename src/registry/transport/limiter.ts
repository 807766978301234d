/**
 * Per-host request rate limiting: a token bucket whose rate adapts to the registry. A 429 halves the rate (at
 * most once per {@link CUT_INTERVAL_MS}, so one burst of 429s from requests already in flight counts once),
 * never below the floor; after a quiet period without 429s the rate grows ×1.5 per step back to the configured
 * one. The arithmetic takes the time as an argument so it is tested without timers.
 */
import { sleep } from '../../internal/abort.js';
import { CUT_INTERVAL_MS, RATE_LIMIT_DEFAULTS, RECOVERY_FACTOR, RECOVERY_INTERVAL_MS } from '../options.js';
import type { RateLimitOptions } from '../types.js';
import { atReserve, parseBudget, type Budget } from './budget.js';
import type { Headers } from './types.js';

export interface ResolvedRateLimit {
  requestsPerSecond: number;
  burst: number;
  minRequestsPerSecond: number;
  reserveFraction: number;
}

export function resolveRateLimit(o: RateLimitOptions = {}): ResolvedRateLimit {
  const pos = (v: number | undefined, d: number) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : d);
  const requestsPerSecond = pos(o.requestsPerSecond, RATE_LIMIT_DEFAULTS.requestsPerSecond);
  return {
    requestsPerSecond,
    burst: Math.max(1, pos(o.burst, RATE_LIMIT_DEFAULTS.burst)),
    minRequestsPerSecond: Math.min(requestsPerSecond, pos(o.minRequestsPerSecond, RATE_LIMIT_DEFAULTS.minRequestsPerSecond)),
    reserveFraction: typeof o.reserveFraction === 'number' && o.reserveFraction > 0 && o.reserveFraction < 1 ? o.reserveFraction : 0,
  };
}

/** The bucket of one host. Time is passed in (`now`, ms), never read. */
export class HostBucket {
  readonly configured: ResolvedRateLimit;
  /** Current rate (requests per second). */
  rate: number;
  /** Tokens available; negative when requests have reserved future tokens. */
  tokens: number;
  #last: number;
  #lastCut = -Infinity;
  #last429 = -Infinity;
  #lastRaise = -Infinity;
  /** Until then no request starts (a 429's `Retry-After`): the whole host waits, not only the request that got it. */
  pausedUntil = -Infinity;
  /** The budget the registry announced last, and when. */
  budget: Budget | undefined;
  budgetSeenAt = -Infinity;

  constructor(configured: ResolvedRateLimit, now: number) {
    this.configured = configured;
    this.rate = configured.requestsPerSecond;
    this.tokens = configured.burst;
    this.#last = now;
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#last);
    this.tokens = Math.min(this.configured.burst, this.tokens + (elapsed * this.rate) / 1000);
    this.#last = now;
  }

  /**
   * Takes one token and returns how long to wait before using it (0 if one was available). Tokens are reserved
   * ahead (the count goes negative), so concurrent callers queue up in order instead of all waking together.
   */
  reserve(now: number): number {
    this.#refill(now);
    this.tokens -= 1;
    const paused = Math.max(0, Math.ceil(this.pausedUntil - now));
    return Math.max(paused, this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.rate));
  }

  /** Gives back a reserved token (its waiter was aborted). */
  refund(): void {
    this.tokens = Math.min(this.configured.burst, this.tokens + 1);
  }

  /** A 429 was received. Returns the new rate if it was cut. */
  on429(now: number): number | undefined {
    this.#last429 = now;
    if (now - this.#lastCut < CUT_INTERVAL_MS) return undefined;
    this.#refill(now);
    const next = Math.max(this.configured.minRequestsPerSecond, this.rate / 2);
    this.#lastCut = now;
    if (next === this.rate) return undefined;
    this.rate = next;
    // Tokens saved up at the old rate would let a burst through straight after the cut.
    this.tokens = Math.min(this.tokens, 1);
    return next;
  }

  /** A response other than 429. Returns the new rate if it recovered a step. */
  onSuccess(now: number): number | undefined {
    if (this.rate >= this.configured.requestsPerSecond) return undefined;
    if (now - this.#last429 < RECOVERY_INTERVAL_MS || now - this.#lastRaise < RECOVERY_INTERVAL_MS) return undefined;
    this.#refill(now);
    this.rate = Math.min(this.configured.requestsPerSecond, this.rate * RECOVERY_FACTOR);
    this.#lastRaise = now;
    return this.rate;
  }
}

/** Buckets by host, with real time and abortable waits. */
export class RateLimiter {
  readonly #config: ResolvedRateLimit;
  readonly #buckets = new Map<string, HostBucket>();
  readonly #now: () => number;
  readonly #onChange: (host: string, requestsPerSecond: number) => void;

  constructor(options: RateLimitOptions = {}, onChange: (host: string, rps: number) => void = () => {}, now: () => number = () => performance.now()) {
    this.#config = resolveRateLimit(options);
    this.#onChange = onChange;
    this.#now = now;
  }

  bucket(host: string): HostBucket {
    let b = this.#buckets.get(host);
    if (!b) {
      b = new HostBucket(this.#config, this.#now());
      this.#buckets.set(host, b);
    }
    return b;
  }

  /** Waits for a token of `host`; rejects with `AbortError` at once if `signal` fires (the token is given back). */
  async acquire(host: string, signal?: AbortSignal): Promise<void> {
    const b = this.bucket(host);
    const wait = b.reserve(this.#now());
    if (wait <= 0) return;
    try {
      await sleep(wait, signal);
    } catch (err) {
      b.refund();
      throw err;
    }
  }

  /**
   * A 429: the rate is cut, and with a `Retry-After` (ms) the host pauses that long for every request (bounded by
   * the retry policy's own maximum, `maxPauseMs`: longer waits fail the requests instead).
   */
  on429(host: string, retryAfterMs?: number, maxPauseMs = Infinity): void {
    const b = this.bucket(host);
    const now = this.#now();
    if (retryAfterMs !== undefined && retryAfterMs > 0) b.pausedUntil = Math.max(b.pausedUntil, now + Math.min(retryAfterMs, maxPauseMs));
    const rate = b.on429(now);
    if (rate !== undefined) this.#onChange(host, rate);
  }

  /** Records the budget a response announced (see budget.ts). */
  observe(host: string, headers: Headers): void {
    const now = this.#now();
    const budget = parseBudget(headers, now);
    if (!budget) return;
    const b = this.bucket(host);
    b.budget = budget;
    b.budgetSeenAt = now;
  }

  /** The budget, if a request to `host` now would eat into the reserve this client keeps (undefined: go ahead). */
  atReserve(host: string): Budget | undefined {
    const b = this.#buckets.get(host);
    if (!b?.budget) return undefined;
    return atReserve(b.budget, this.#config.reserveFraction, b.budgetSeenAt, this.#now()) ? b.budget : undefined;
  }

  onSuccess(host: string): void {
    const b = this.#buckets.get(host);
    if (!b) return;
    const rate = b.onSuccess(this.#now());
    if (rate !== undefined) this.#onChange(host, rate);
  }
}
