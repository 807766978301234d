/**
 * When a repository is due for a refresh, from its stored state: after the poll interval (with its jitter) since
 * the last good tag list; after a back-off since the last failure (doubling per failure in a row, up to the poll
 * interval: a repository that fails is not asked again in a tight loop); at once if a tag's digest is still
 * unknown (a refresh cut short) or a stored time is in the future beyond the slack (a clock that ran ahead).
 */
import type { RepositoryState } from '../images/types.js';
import { CLOCK_SLACK_MS, FAILURE_BACKOFF_MS } from './options.js';

export interface DueInput {
  state: RepositoryState | undefined;
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
  const err = state.lastError;
  const failedLast = err !== undefined && err.at >= state.lastUpdate;
  if (failedLast) {
    if (err.at > now + CLOCK_SLACK_MS) return now;
    return err.at + Math.min(pollMs, FAILURE_BACKOFF_MS * 2 ** Math.min(20, Math.max(0, failures - 1)));
  }
  if (state.lastUpdate === 0) return now;
  if (state.lastUpdate > now + CLOCK_SLACK_MS) return now;
  for (const t of Object.values(state.tags)) if (t.digest === '' && t.excluded === undefined) return now;
  return state.lastUpdate + pollMs * (1 + spread);
}
