/** Every default and bound of the warmer, named in one place. */

/** A tag list older than this is read again (flux v1 polled every minute; 5 min is kinder to registries). */
export const DEFAULT_POLL_MS = 5 * 60_000;
/** Repositories refreshed at once. */
export const DEFAULT_REPO_CONCURRENCY = 2;
/** Each repository's due time moves by up to this fraction of the poll interval, so warmers never all go at once. */
export const DEFAULT_JITTER = 0.1;
/** A refresh lease in the store: long enough for a slow refresh, short enough that a dead warmer's lease lapses. */
export const DEFAULT_LEASE_MS = 5 * 60_000;
/** The longest a running warmer sleeps between looks at its repositories. */
export const MAX_IDLE_WAIT_MS = 60_000;
