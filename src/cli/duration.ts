import { InvalidArgumentError } from '../errors.js';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, '': 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parses a duration into whole milliseconds: `90` and `90s` (seconds), `1.5s`, `500ms`, `10m`, `2h`, `30d`, `2w`.
 * Positive only.
 *
 * @throws InvalidArgumentError for anything else (empty, zero, negative, an unknown unit, past `max`).
 */
export function parseDuration(s: string, what: string, max: number): number {
  const quoted = JSON.stringify(s).slice(0, 100);
  const m = /^(\d+(?:\.\d+)?|\.\d+)[ \t]*([a-z]*)$/i.exec(typeof s === 'string' ? s.trim() : '');
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError(`${what}: invalid duration ${quoted} (e.g. 90, 90s, 500ms, 10m, 2h, 30d)`);
  const ms = Math.round(Number(m[1]) * unit);
  if (ms < 1) throw new InvalidArgumentError(`${what}: the duration ${quoted} must be positive`);
  if (ms > max) throw new InvalidArgumentError(`${what}: the duration ${quoted} is too long (at most ${Math.floor(max / 3_600_000)} h)`);
  return ms;
}

/** A time span for people: `0.4s`, `12s`, `2m05s`, `1h02m`. */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

const AGE_UNITS: Readonly<Record<string, number>> = { s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * An age for what deletes by age (`prune --older-than`): a unit is required and only unambiguous ones are taken
 * (`s`, `min`, `h`, `d`, `w`, lowercase). A bare `30` meant as days, or `6m`/`6M` meant as months, would otherwise
 * be read as seconds or minutes and empty the cache.
 */
export function parseAge(s: string, what: string, max: number): number {
  const quoted = JSON.stringify(s).slice(0, 100);
  const m = /^(\d+(?:\.\d+)?)(s|min|h|d|w)$/.exec(typeof s === 'string' ? s.trim() : '');
  if (!m) throw new InvalidArgumentError(`${what}: invalid age ${quoted}: a number and one of s, min, h, d, w (e.g. 30d, 12h, 2w)`);
  const ms = Math.round(Number(m[1]) * AGE_UNITS[m[2]!]!);
  if (ms < 1) throw new InvalidArgumentError(`${what}: the age ${quoted} must be positive`);
  if (ms > max) throw new InvalidArgumentError(`${what}: the age ${quoted} is too long (at most ${Math.floor(max / 86_400_000)} days)`);
  return ms;
}
