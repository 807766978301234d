/**
 * How a repository state is written: columns, not one object per tag. A repository with 100,000 tags on a few
 * manifests was 16.7 MB of JSON as `{tags: {name: {digest, checkedAt, intervalMs, deadline}}}` (every digest
 * spelled out per tag), read whole several times per refresh: the warmer peaked at over 500 MiB. As columns, with
 * each digest and each exclusion reason written once and named by its index, it is ~5 MB, and the decoded state
 * shares one string per digest.
 *
 * Format 2: `{format: 2, repository, lastUpdate, lastError?, digests: [d...], reasons: [r...], tags: [name...],
 * digest: [i | -1], checkedAt: [ms...], intervalMs: [ms...], deadline: [ms...], excluded?: [i | -1]}`; `-1` is
 * "no digest yet" / "not excluded". Format 1 (the object form, no `format` field) is still read.
 * Everything decoded goes through the same checks as a write (`validate.ts`); anything off is an error the store
 * turns into a miss.
 */
import { InvalidArgumentError } from '../errors.js';
import { validateDigest } from '../digest/index.js';
import { isValidTag } from '../oci/names.js';
import type { RepositoryState, TagState } from '../images/types.js';
import { checkLastError, checkRepositoryState, checkTag, said, time, validateRepositoryName } from './validate.js';

const FORMAT = 2;

/** The state as format-2 JSON, checked as it is written (`InvalidArgumentError`, `InvalidDigestError`). */
export function encodeRepository(state: RepositoryState): Buffer {
  if (typeof state !== 'object' || state === null) throw new InvalidArgumentError('repository state: must be an object');
  const repository = validateRepositoryName(state.repository);
  const lastUpdate = time(`${repository} lastUpdate`, state.lastUpdate);
  if (typeof state.tags !== 'object' || state.tags === null || Array.isArray(state.tags)) throw new InvalidArgumentError(`tags of ${repository}: must be an object`);
  const digests = new Interner();
  const reasons = new Interner();
  const names: string[] = [];
  const digest: number[] = [];
  const checkedAt: number[] = [];
  const intervalMs: number[] = [];
  const deadline: number[] = [];
  const excluded: number[] = [];
  const tags = state.tags;
  // for-in, not Object.entries: 100,000 [name, state] pairs are garbage a large repository need not make.
  for (const name in tags) {
    if (!Object.hasOwn(tags, name)) continue;
    if (!isValidTag(name)) throw new InvalidArgumentError(`repository ${repository}: invalid tag ${JSON.stringify(name).slice(0, 200)}`);
    const t = checkTag(repository, name, tags[name]);
    names.push(name);
    digest.push(t.digest === '' ? -1 : digests.index(t.digest));
    checkedAt.push(t.checkedAt);
    intervalMs.push(t.intervalMs);
    deadline.push(t.deadline);
    excluded.push(t.excluded === undefined ? -1 : reasons.index(t.excluded));
  }
  const record = {
    format: FORMAT,
    repository,
    lastUpdate,
    ...(state.lastError !== undefined && { lastError: checkLastError(repository, state.lastError) }),
    digests: digests.values,
    reasons: reasons.values,
    tags: names,
    digest,
    checkedAt,
    intervalMs,
    deadline,
    ...(reasons.values.length > 0 && { excluded }),
  };
  return Buffer.from(JSON.stringify(record));
}

/** A stored state (format 2, or format 1), checked; throws on anything the contract does not allow. */
export function decodeRepository(body: Buffer): RepositoryState {
  const v: unknown = JSON.parse(body.toString('utf8'));
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new InvalidArgumentError('repository record: not an object');
  const r = v as Record<string, unknown>;
  if (r.format === undefined) return checkRepositoryState(r);
  if (r.format !== FORMAT) throw new InvalidArgumentError(`repository record: format ${String(r.format)} is not known`);
  const repository = validateRepositoryName(r.repository);
  const names = column(repository, 'tags', r.tags);
  const n = names.length;
  const digests = column(repository, 'digests', r.digests).map((d) => validateDigest(d as string));
  const reasons = column(repository, 'reasons', r.reasons).map((x) => said(`${repository} exclusion reason`, x));
  const digest = column(repository, 'digest', r.digest, n);
  const checkedAt = column(repository, 'checkedAt', r.checkedAt, n);
  const intervalMs = column(repository, 'intervalMs', r.intervalMs, n);
  const deadline = column(repository, 'deadline', r.deadline, n);
  const excluded = r.excluded === undefined ? undefined : column(repository, 'excluded', r.excluded, n);
  const tags: Record<string, TagState> = {};
  for (let i = 0; i < n; i++) {
    const name = names[i];
    if (typeof name !== 'string' || !isValidTag(name) || Object.hasOwn(tags, name)) throw new InvalidArgumentError(`repository ${repository}: invalid or repeated tag`);
    const t: TagState = {
      digest: pick(repository, digests, digest[i], ''),
      checkedAt: time(`${repository}:${name} checkedAt`, checkedAt[i]),
      intervalMs: time(`${repository}:${name} intervalMs`, intervalMs[i]),
      deadline: time(`${repository}:${name} deadline`, deadline[i]),
    };
    const reason = excluded ? pick(repository, reasons, excluded[i], undefined) : undefined;
    if (reason !== undefined) t.excluded = reason;
    // A tag named `__proto__` (a valid tag) must stay a tag: assigned, it would set the prototype.
    if (name === '__proto__') Object.defineProperty(tags, name, { value: t, enumerable: true, writable: true, configurable: true });
    else tags[name] = t;
  }
  const state: RepositoryState = { repository, lastUpdate: time(`${repository} lastUpdate`, r.lastUpdate), tags };
  if (r.lastError !== undefined) state.lastError = checkLastError(repository, r.lastError);
  return state;
}

/** Each distinct value once, in order of first use; `index` names it. */
class Interner {
  readonly values: string[] = [];
  readonly #at = new Map<string, number>();
  index(value: string): number {
    let i = this.#at.get(value);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(value);
      this.#at.set(value, i);
    }
    return i;
  }
}

function column(repository: string, what: string, v: unknown, length?: number): unknown[] {
  if (!Array.isArray(v) || (length !== undefined && v.length !== length)) throw new InvalidArgumentError(`repository ${repository}: column ${what} is not an array of the tags' length`);
  return v;
}

/** `table[i]`, or `none` for -1; anything else is an error. */
function pick<T extends string | undefined>(repository: string, table: readonly string[], i: unknown, none: T): string | T {
  if (i === -1) return none;
  if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= table.length) throw new InvalidArgumentError(`repository ${repository}: an index out of range`);
  return table[i]!;
}
