/**
 * Every default and limit of the registry layer, in one place. Each says why it has the value it has; the modules
 * that apply them (the transport, retries, the rate limiter, the API calls) import them from here.
 */
import { MAX_MANIFEST_BYTES } from '../oci/manifest.js';

// --- Connections ---

/** Response headers, and each chunk of a body, may take this long: a stalled registry fails instead of hanging. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/**
 * The slowest a response body may arrive (`minTransferRate`, as curl's `--speed-limit`/`--speed-time`): fewer than
 * `bytes` in `windowMs` fails it with `RegistryTooSlowError`. `DEFAULT_TIMEOUT_MS` bounds the wait for each chunk
 * only, so a registry trickling a byte every few seconds would otherwise keep a pull alive indefinitely. About
 * 1 KiB/s over a minute: a GPRS-class link, below which a layer takes days. The window is longer than the chunk
 * timeout on purpose: a body that stops altogether is a stall (that timeout, and the pull-through download resumes
 * it); one that keeps trickling is too slow (final). Time the reader is not reading (backpressure) never counts.
 */
export const MIN_TRANSFER_RATE_DEFAULTS = {
  /** Bytes that must arrive within each window. */
  bytes: 64 * 1024,
  /** The window, in milliseconds. */
  windowMs: 60_000,
} as const;
/** Connections per origin: enough to pull layers in parallel without looking like a flood to the registry. */
export const DEFAULT_CONNECTIONS = 8;
/** How long the HTTPS probe of an insecure registry may take before plain HTTP is assumed. */
export const PROBE_TIMEOUT_MS = 10_000;
/** Redirects followed for one request (a CDN hop or two is normal); more is a loop. */
export const MAX_REDIRECTS = 10;

// --- Sizes read into memory ---

/** Error documents and token responses are read up to this size: they are small, and a registry may be hostile. */
export const MAX_ERROR_BODY_BYTES = 64 << 10;
/** A tag list page is read up to this size (a large repository's page, not an unbounded stream). */
export const MAX_JSON_BYTES = 4 << 20;
/** Manifests and indexes are refused above this size (the limit distribution and containerd apply). */
export { MAX_MANIFEST_BYTES };
/** Tag list pages followed: a bound on a registry whose `Link` never ends. */
export const MAX_TAG_PAGES = 100_000;
/** A registry's error message is cut to this many characters: it ends up in our messages and logs. */
export const MAX_REGISTRY_MESSAGE_CHARS = 300;

// --- Retries (see RetryOptions) ---

/** Bounded, jittered retries: enough to ride out a registry restart or a burst of 503s, never a hang. */
export const RETRY_DEFAULTS = {
  /** Attempts per request including the first. */
  maxAttempts: 5,
  /** First backoff; doubles each retry (with full jitter). */
  baseDelayMs: 250,
  /** Cap of one backoff wait. */
  maxDelayMs: 10_000,
  /** A `Retry-After` longer than this ends the retries: the caller hears of it instead of waiting minutes. */
  maxRetryAfterMs: 60_000,
} as const;

// --- Rate limiting (see RateLimitOptions) ---

/** Per host: generous for a private registry, and cut adaptively by the 429s of a registry that wants less. */
export const RATE_LIMIT_DEFAULTS = {
  /** Steady requests per second per host. */
  requestsPerSecond: 100,
  /** Requests that may go at once before the steady rate applies (a pull's first burst of blob requests). */
  burst: 50,
  /** Floor the limiter never goes below after repeated 429s, so a pull slows down but still ends. */
  minRequestsPerSecond: 0.5,
} as const;
/** 429s within this long of a cut do not cut again: a burst of 429s from requests already in flight counts once. */
export const CUT_INTERVAL_MS = 1000;
/** Time without a 429 before the rate starts recovering, and between recovery steps. */
export const RECOVERY_INTERVAL_MS = 5000;
/** Factor of one recovery step: back to the configured rate in a few steps, not at once. */
export const RECOVERY_FACTOR = 1.5;

// --- Tokens ---

/** A token response without `expires_in` lives this many seconds, as the Docker token spec says. */
export const DEFAULT_TOKEN_LIFETIME_S = 60;
/** A token stops being used this long before it expires, at most: clocks and latency differ. */
export const MAX_TOKEN_MARGIN_MS = 30_000;
/** ... and at least this long, even for a token of a few seconds. */
export const MIN_TOKEN_MARGIN_MS = 1000;
