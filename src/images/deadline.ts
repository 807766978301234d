/**
 * The seed's adaptive deadline per tag (flux v1 `cache/warming.go`, kept because users rely on its economy): a new
 * tag is looked at again after an hour; each look that finds the same digest doubles the interval, a moved tag
 * halves it, always within [5 min, 7 days]; a tag a filter excludes is looked at once a day.
 */
import type { TagState } from './types.js';
import { EXCLUDED_INTERVAL_MS, MAX_INTERVAL_MS, MIN_INTERVAL_MS, NEW_TAG_INTERVAL_MS } from './options.js';

const clip = (ms: number): number => Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, ms));

/** Whether the tag is due for a look at `now` (a tag never looked at is). */
export function isDue(tag: TagState | undefined, now: number): boolean {
  // A deadline further away than its own interval was set by a clock that ran ahead: looked at now, not in a month.
  return tag === undefined || tag.digest === '' || tag.deadline <= now || tag.deadline - now > tag.intervalMs;
}

/** The state after looking at a tag at `now` and finding `digest` (undefined before: a new tag). */
export function nextTagState(previous: TagState | undefined, digest: string, now: number): TagState {
  let intervalMs: number;
  if (previous === undefined || previous.digest === '' || previous.excluded !== undefined) intervalMs = NEW_TAG_INTERVAL_MS;
  else if (previous.digest === digest) intervalMs = clip(previous.intervalMs * 2);
  else intervalMs = clip(previous.intervalMs / 2);
  return { digest, checkedAt: now, intervalMs, deadline: now + intervalMs };
}

/** The state of a tag a filter excludes: not looked at, looked at again in a day (its digest kept if known). */
export function excludedTagState(previous: TagState | undefined, reason: string, now: number): TagState {
  return {
    digest: previous?.digest ?? '',
    checkedAt: previous?.checkedAt ?? 0,
    intervalMs: EXCLUDED_INTERVAL_MS,
    deadline: now + EXCLUDED_INTERVAL_MS,
    excluded: reason,
  };
}

/** A tag just listed and not yet looked at: due at once, digest unknown. */
export function unknownTagState(): TagState {
  return { digest: '', checkedAt: 0, intervalMs: NEW_TAG_INTERVAL_MS, deadline: 0 };
}
