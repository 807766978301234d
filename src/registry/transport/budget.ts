/**
 * The request budget a registry announces in its response headers: the IETF draft's `RateLimit-Limit`,
 * `RateLimit-Remaining` and `RateLimit-Reset` (seconds), and Docker Hub's form of the first two
 * (`ratelimit-remaining: 76;w=21600`: 76 left in a 6 h window). A client configured with a reserve
 * (`rateLimit.reserveFraction`: a warmer keeps part of the budget for the pulls people run) stops sending
 * budgeted requests to a host whose remaining budget is down to the reserve, until the budget resets.
 */
import type { Headers } from './types.js';

export interface Budget {
  limit: number;
  remaining: number;
  /** When the budget is back (ms, on the limiter's clock); undefined: not said. */
  resetAt: number | undefined;
  /** The window the registry named (`w=`), in ms; a reset is assumed at most this far away. */
  windowMs: number | undefined;
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** `100;w=21600` → { value: 100, windowS: 21600 }; anything else undefined. */
function parseItem(v: string | undefined): { value: number; windowS: number | undefined } | undefined {
  if (v === undefined || v.length > 200) return undefined;
  const m = /^\s*(\d{1,15})\s*(?:;\s*w\s*=\s*(\d{1,15}))?/.exec(v);
  if (!m) return undefined;
  return { value: Number(m[1]), windowS: m[2] !== undefined ? Number(m[2]) : undefined };
}

/** The budget in `headers`, or undefined when the registry announced none (or nonsense). */
export function parseBudget(headers: Headers, now: number): Budget | undefined {
  const limit = parseItem(first(headers['ratelimit-limit']));
  const remaining = parseItem(first(headers['ratelimit-remaining']));
  if (!limit || !remaining || limit.value === 0 || remaining.value > limit.value) return undefined;
  const reset = parseItem(first(headers['ratelimit-reset']));
  const windowS = remaining.windowS ?? limit.windowS;
  return {
    limit: limit.value,
    remaining: remaining.value,
    resetAt: reset ? now + reset.value * 1000 : undefined,
    windowMs: windowS !== undefined ? windowS * 1000 : undefined,
  };
}

/** Whether a budget leaves no more than the reserve, at `now` (a budget past its reset is spent no longer). */
export function atReserve(b: Budget | undefined, reserveFraction: number, observedAt: number, now: number): boolean {
  if (!b || reserveFraction <= 0) return false;
  const back = b.resetAt ?? (b.windowMs !== undefined ? observedAt + b.windowMs : undefined);
  if (back !== undefined && now >= back) return false;
  return b.remaining <= Math.max(1, Math.ceil(b.limit * reserveFraction));
}
