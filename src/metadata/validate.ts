/**
 * Checks of what the metadata store writes and reads. Writes are checked strictly (typed errors); what is read
 * back goes through the same checks and is a miss when it fails them (see `store.ts`). Each check returns a plain
 * copy with only the contract's fields, so nothing else is ever stored.
 */
import { InvalidArgumentError } from '../errors.js';
import { validateDigest } from '../digest/index.js';
import { isValidTag } from '../oci/names.js';
import { parseReference } from '../reference/index.js';
import type { ImageInfo, ImagePlatform, RepositoryState, TagState } from '../images/types.js';

const CONTROL_OR_SPACE = /[\s\u0000-\u001f\u007f]/;
const MAX_TEXT = 4096;

/**
 * A canonical `registry/repository`: exactly what `parseReference(name).name` gives (`docker.io/library/alpine`,
 * `ghcr.io/team/app`, `localhost:5000/app`), so one repository has one name and one record. A name without its
 * registry, with a tag or digest, or spelled otherwise (`index.docker.io/...`, `docker.io/alpine`) is refused.
 */
export function validateRepositoryName(name: unknown): string {
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError('a repository name must be a non-empty string');
  const shown = JSON.stringify(name).slice(0, 300);
  let canonical: string;
  try {
    canonical = parseReference(name).name;
  } catch (err) {
    throw new InvalidArgumentError(`invalid repository name ${shown}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (canonical !== name) {
    throw new InvalidArgumentError(`repository name ${shown} is not canonical registry/repository (${JSON.stringify(canonical)})`);
  }
  return name;
}

function fail(what: string, why: string): never {
  throw new InvalidArgumentError(`${what}: ${why}`);
}

function text(what: string, v: unknown, options: { token?: boolean; max?: number } = {}): string {
  if (typeof v !== 'string' || v === '') fail(what, 'must be a non-empty string');
  if (v.length > (options.max ?? MAX_TEXT)) fail(what, `longer than ${options.max ?? MAX_TEXT} characters`);
  if (options.token && CONTROL_OR_SPACE.test(v)) fail(what, 'must not contain whitespace or control characters');
  return v;
}

// What registries and errors say (platforms, dates, labels, messages) is kept as said, only bounded: refusing an
// odd but harmless value would make an image impossible to cache.
export function said(what: string, v: unknown, max = 1024): string {
  if (typeof v !== 'string') fail(what, 'must be a string');
  if (v.length > max) fail(what, `longer than ${max} characters`);
  return v;
}

export function time(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(what, `must be a finite number >= 0, got ${String(v)}`);
  return v;
}

function object(what: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(what, 'must be an object');
  return v as Record<string, unknown>;
}

/** One tag's state, checked, as a plain copy. */
export function checkTag(repo: string, tag: string, v: unknown): TagState {
  const what = `tag ${JSON.stringify(tag)} of ${repo}`;
  const s = object(what, v);
  const out: TagState = {
    // '' : not resolved yet (a new tag, or one excluded before it was ever read).
    digest: s.digest === '' ? '' : validateDigest(s.digest as string),
    checkedAt: time(`${what} checkedAt`, s.checkedAt),
    intervalMs: time(`${what} intervalMs`, s.intervalMs),
    deadline: time(`${what} deadline`, s.deadline),
  };
  if (s.excluded !== undefined) out.excluded = said(`${what} excluded`, s.excluded);
  return out;
}

/** A repository state, checked (`InvalidArgumentError`, `InvalidDigestError`), as a plain copy. */
export function checkRepositoryState(state: unknown): RepositoryState {
  const s = object('repository state', state);
  const repository = validateRepositoryName(s.repository);
  const tags = object(`tags of ${repository}`, s.tags);
  const entries: Array<[string, TagState]> = [];
  for (const [tag, v] of Object.entries(tags)) {
    if (!isValidTag(tag)) fail(`repository ${repository}`, `invalid tag ${JSON.stringify(tag).slice(0, 200)}`);
    entries.push([tag, checkTag(repository, tag, v)]);
  }
  // fromEntries: a tag named `__proto__` (a valid tag) stays a tag, not a prototype.
  const out: RepositoryState = {
    repository,
    lastUpdate: time(`${repository} lastUpdate`, s.lastUpdate),
    tags: Object.fromEntries(entries),
  };
  if (s.lastError !== undefined) out.lastError = checkLastError(repository, s.lastError);
  return out;
}

/** A repository's `lastError`, checked, as a plain copy. */
export function checkLastError(repository: string, v: unknown): NonNullable<RepositoryState['lastError']> {
  const e = object(`${repository} lastError`, v);
  const out: NonNullable<RepositoryState['lastError']> = {
    message: said(`${repository} lastError.message`, e.message, 64 * 1024),
    at: time(`${repository} lastError.at`, e.at),
  };
  if (e.code !== undefined) out.code = said(`${repository} lastError.code`, e.code, 200);
  return out;
}

function size(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(what, `must be an integer >= 0, got ${String(v)}`);
  return v;
}

function array(what: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) fail(what, 'must be an array');
  return v;
}

function checkPlatform(digest: string, v: unknown): ImagePlatform {
  const what = `a platform of ${digest}`;
  const p = object(what, v);
  const out: ImagePlatform = {
    os: said(`${what} os`, p.os, 200),
    architecture: said(`${what} architecture`, p.architecture, 200),
    digest: validateDigest(p.digest as string),
  };
  if (p.variant !== undefined) out.variant = said(`${what} variant`, p.variant, 200);
  return out;
}

type Layer = { digest: string; size: number; mediaType: string };

function checkLayer(digest: string, v: unknown): Layer {
  const what = `a layer of ${digest}`;
  const l = object(what, v);
  return {
    digest: validateDigest(l.digest as string),
    size: size(`${what} size`, l.size),
    mediaType: text(`${what} mediaType`, l.mediaType, { max: 1024 }),
  };
}

/** Image facts, checked (`InvalidArgumentError`, `InvalidDigestError`), as a plain copy. */
export function checkImageInfo(info: unknown): ImageInfo {
  const i = object('image info', info);
  const digest = validateDigest(i.digest as string);
  const what = `image ${digest}`;
  const labels = Object.entries(object(`${what} labels`, i.labels)).map(([k, v]): [string, string] => [
    k,
    said(`${what} label ${JSON.stringify(k).slice(0, 200)}`, v, 64 * 1024),
  ]);
  // `layers` may be missing from a record written before the field existed: no layers known.
  const layers = i.layers === undefined ? [] : array(`${what} layers`, i.layers).map((l) => checkLayer(digest, l));
  // `as`: compiles whether or not this ImageInfo has `layers` yet (added by issue 11).
  const out = {
    reference: text(`${what} reference`, i.reference, { token: true, max: 1024 }),
    digest,
    mediaType: text(`${what} mediaType`, i.mediaType, { max: 1024 }),
    labels: Object.fromEntries(labels),
    platforms: array(`${what} platforms`, i.platforms).map((p) => checkPlatform(digest, p)),
    layers,
    size: size(`${what} size`, i.size),
    lastFetched: time(`${what} lastFetched`, i.lastFetched),
  } as ImageInfo;
  if (i.configDigest !== undefined) out.configDigest = validateDigest(i.configDigest as string);
  if (i.createdAt !== undefined) out.createdAt = said(`${what} createdAt`, i.createdAt, 256);
  if (i.unreadable !== undefined) {
    const u = object(`${what} unreadable`, i.unreadable);
    out.unreadable = { code: said(`${what} unreadable code`, u.code, 64), message: said(`${what} unreadable message`, u.message, 1024) };
  }
  return out;
}

/** A lease name or owner: a non-empty string of at most 1024 characters. */
export function checkLeaseText(what: string, v: unknown): string {
  return text(what, v, { max: 1024 });
}
