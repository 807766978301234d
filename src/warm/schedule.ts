/**
 * When a repository is due for a refresh, from its stored state: after the poll interval (with its jitter) since
 * the last good tag list; after a back-off since the last failure (doubling per failure in a row, up to the poll
 * interval: a repository that fails is not asked again in a tight loop); at once if a tag's digest is still
 * unknown (a refresh cut short) or a stored time is in the future beyond the slack (a clock that ran ahead).
 */
import type { RepositoryState } from '../images/types.js';
import { CLOCK_SLACK_MS, FAILURE_BACKOFF_MS } from './options.js';

/**
 * What scheduling needs of a repository's state, kept by the warmer between cycles instead of the state itself
 * (100,000 tags are megabytes; this is a few numbers).
 */
export interface RepositorySummary {
  lastUpdate: number;
  /** When the last refresh failed, if it failed after the last success. */
  failedAt?: number;
  /** A tag's digest is still unknown (a refresh cut short). */
  unresolved: boolean;
  tags: number;
  /** The earliest deadline of a resolved, not excluded tag (Infinity if none). */
  oldestDeadline: number;
}

export function summarize(state: RepositoryState): RepositorySummary {
  let unresolved = false;
  let tags = 0;
  let oldestDeadline = Infinity;
  // for-in, not Object.values: no array of 100,000 states made to be thrown away.
  for (const name in state.tags) {
    if (!Object.hasOwn(state.tags, name)) continue;
    const t = state.tags[name]!;
    tags++;
    if (t.excluded !== undefined) continue;
    if (t.digest === '') unresolved = true;
    else if (t.deadline < oldestDeadline) oldestDeadline = t.deadline;
  }
  const failedAt = state.lastError !== undefined && state.lastError.at >= state.lastUpdate ? state.lastError.at : undefined;
  return { lastUpdate: state.lastUpdate, unresolved, tags, oldestDeadline, ...(failedAt !== undefined && { failedAt }) };
}

export interface DueInput {
  state: RepositorySummary | undefined;
  now: number;
  pollMs: number;
  /** The repository's jitter, a fraction of the poll interval in [-jitter, jitter]. */
  spread: number;
  /** Failures in a row this warmer saw (at least 1 is assumed when the state says the last refresh failed). */
  failures: number;
}

/** The time (ms since the epoch) the repository is due at; `<= now` means due. */
export function dueAt({ state, now, pollMs, spread, failures }: DueInput): number {
  if (!state) return now;
  if (state.failedAt !== undefined) {
    if (state.failedAt > now + CLOCK_SLACK_MS) return now;
    return state.failedAt + Math.min(pollMs, FAILURE_BACKOFF_MS * 2 ** Math.min(20, Math.max(0, failures - 1)));
  }
  if (state.lastUpdate === 0) return now;
  if (state.lastUpdate > now + CLOCK_SLACK_MS) return now;
  if (state.unresolved) return now;
  return state.lastUpdate + pollMs * (1 + spread);
}
