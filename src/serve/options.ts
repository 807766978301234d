/**
 * Every default and bound of `mote serve` / `createMirror`, named in one place.
 */
import type { FileMoteCache } from '../store/file-cache.js';
import type { UpstreamSpec } from './upstream.js';

/** `--listen` default: loopback only; exposing the mirror is a choice. */
export const DEFAULT_LISTEN = '127.0.0.1:5000';
/** A tag's digest is revalidated upstream (one HEAD) once its record is older than this. */
export const DEFAULT_TAG_MAX_AGE_MS = 5 * 60_000;
/** How often a client streaming a growing download looks for new bytes when none came (also woken when it ends). */
export const TAIL_POLL_MS = 20;
/** A response body no client reads for this long is dropped (a vanished client must not hold an fd forever). */
export const CLIENT_IDLE_MS = 60_000;
/** SIGTERM: stop accepting, let in-flight responses finish for at most this long, then cut them. */
export const SHUTDOWN_DEADLINE_MS = 10_000;
/** Headers must arrive within this long (slowloris). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** How often the size cap is checked. */
export const PRUNE_INTERVAL_MS = 10_000;
/** Prune starts above `maxSize * HIGH_WATERMARK` and brings the store down to `maxSize * LOW_WATERMARK`. */
export const HIGH_WATERMARK = 0.95;
export const LOW_WATERMARK = 0.85;
/**
 * Retries of upstream requests: few and short, so an unreachable upstream costs a cached tag about a second
 * before it is served stale (the client's own defaults, 5 attempts up to 10 s apart, suit a one-off pull).
 */
export const UPSTREAM_RETRY = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 500 } as const;
/** Manifest bytes kept in memory (most recently served first out last). */
export const MANIFEST_MEMO_BYTES = 32 << 20;
/** `tags/list?n=` larger than this is clamped. */
export const MAX_TAGS_PAGE = 10_000;
/** A `Range` header longer than this is refused before parsing. */
export const MAX_RANGE_HEADER = 200;

export interface MirrorOptions {
  /** The local store (its root is where downloads are staged and shared across processes). */
  store: FileMoteCache;
  /** Where names go. The first with `default: true` (or the only one) serves names no prefix or `ns` matches. */
  upstreams: UpstreamSpec[];
  /** Default {@link DEFAULT_TAG_MAX_AGE_MS}. */
  tagMaxAgeMs?: number;
  /** Tags matching one of these globs (`*` any run of characters) are never revalidated once cached. */
  immutableTags?: string[];
  /** htpasswd file contents (bcrypt entries only): clients must send Basic credentials it accepts. */
  htpasswd?: string;
  /** One JSON object per request (the access log). */
  onAccess?: (entry: Record<string, unknown>) => void;
  now?: () => number;
}
