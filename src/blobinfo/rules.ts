/** The rules both backends share: argument checks, and the one order candidates come in. */
import { InvalidArgumentError } from '../errors.js';
import { validateDigest } from '../digest/index.js';
import { UNKNOWN_TRANSFORMER, type CandidateLocation, type KnownLocation } from './types.js';

export function checkString(what: string, value: unknown, nonEmpty = false): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(`${what} must be a string`);
  if (nonEmpty && value === '') throw new InvalidArgumentError(`${what} must not be empty`);
  return value;
}

export function checkLocation(e: KnownLocation): KnownLocation {
  checkString('transport', e.transport);
  checkString('scope', e.scope);
  validateDigest(e.digest);
  checkString('location', e.location, true);
  return e;
}

export function checkLimit(limit: number | undefined): number | undefined {
  if (limit === undefined) return undefined;
  if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgumentError(`limit must be an integer >= 0, got ${String(limit)}`);
  return limit;
}

/** A known location as the backends hold it: time in microseconds. */
export interface RawLocation {
  digest: string;
  location: string;
  micros: number;
}

/**
 * The one ordering rule, shared by the backends: the asked digest first, the untransformed digest (when it is
 * not the asked one) last, others in between; within each group newest first; ties by digest, then location.
 */
export function orderCandidates(
  primary: string,
  untransformed: string | undefined,
  raw: RawLocation[],
  transformerOf: (digest: string) => string | undefined,
  limit: number | undefined,
): CandidateLocation[] {
  const rank = (d: string): number => (d === primary ? 0 : d === untransformed ? 2 : 1);
  raw.sort(
    (a, b) =>
      rank(a.digest) - rank(b.digest) ||
      b.micros - a.micros ||
      (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0) ||
      (a.location < b.location ? -1 : a.location > b.location ? 1 : 0),
  );
  const picked = limit === undefined ? raw : raw.slice(0, limit);
  const names = new Map<string, string>();
  return picked.map((r) => {
    let name = names.get(r.digest);
    if (name === undefined) {
      name = transformerOf(r.digest) ?? UNKNOWN_TRANSFORMER;
      names.set(r.digest, name);
    }
    return { digest: r.digest, transformerName: name, location: r.location, lastSeen: new Date(Math.floor(r.micros / 1000)) };
  });
}
