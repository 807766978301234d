/** Every default and bound of the warmer, named in one place. */

/** A tag list older than this is read again (flux v1 polled every minute; 5 min is kinder to registries). */
export const DEFAULT_POLL_MS = 5 * 60_000;
/** Repositories refreshed at once. */
export const DEFAULT_REPO_CONCURRENCY = 2;
/** Each repository's due time moves by up to this fraction of the poll interval, so warmers never all go at once. */
export const DEFAULT_JITTER = 0.1;
/**
 * A refresh lease in the store. It is renewed every third of it while the refresh runs, so it need not outlast a
 * slow refresh: short, so that the lease of a warmer that was killed lapses within a minute.
 */
export const DEFAULT_LEASE_MS = 60_000;
/** The longest a running warmer sleeps between looks at its repositories. */
export const MAX_IDLE_WAIT_MS = 60_000;
/** The shortest poll interval a warmer takes: a tag list a second is already a lot to ask of a registry. */
export const MIN_POLL_MS = 1_000;
/** After a failed refresh, the next try waits this long, doubling with each failure in a row, up to the poll interval. */
export const FAILURE_BACKOFF_MS = 5_000;
/** Notifications for one repository within this long of its last refresh are folded into one refresh. */
export const NOTIFY_COALESCE_MS = 10_000;
/** A notified repository whose lease another warmer holds is tried again this soon. */
export const LEASE_RETRY_MS = 1_000;
/** A stored time this far ahead of our clock was written by a clock that ran ahead: it is not trusted. */
export { CLOCK_SLACK_MS } from '../images/options.js';
/** After a cycle failed as a whole (the store unreachable), the next one waits this long. */
export const CYCLE_RETRY_MS = 5_000;
