/**
 * "Latest tag" policies (issue 11), after Flux v2's ImagePolicy: semver, alphabetical, numerical, plus `created`
 * (the newest image, which Flux cannot do because it needs every tag's config). Pure functions over the tags
 * of a {@link RepositoryState}: tag-only policies need no manifest (see {@link needsImageFacts}).
 *
 * Orders are Flux's: `asc` (the default) selects the tag that sorts last (`z`, `10`, the newest timestamp), `desc`
 * the one that sorts first. Ties go to the tag name that sorts last in byte order, so the answer never depends on
 * the order the registry listed the tags in.
 */
// semver: npm's own implementation of ranges (`^1.2`, `>=1.0.0 <2`, `1.x || 2.x`, pre-release rules), well kept;
// a hand-written subset would disagree with what users know from package.json.
import semver from 'semver';
import { InvalidArgumentError } from '../errors.js';
import { applyFilter, compileFilter, MAX_TAG_LENGTH, type TagFilter } from './policy-filter.js';
import type { ImageInfo, TagState } from './types.js';

export { FILTER_TIME_LIMIT_MS, MAX_TAG_LENGTH, type TagFilter } from './policy-filter.js';

export type SortOrder = 'asc' | 'desc';

/** A validated policy ({@link parsePolicy}): exactly one rule, and optionally the tags it considers. */
export type ImagePolicy = (
  | { /** A range as npm's `semver` reads it; pre-releases only where the range names one. */ semver: string }
  | { alphabetical: SortOrder }
  | { /** Integers or decimals (`1700000000`, `1.5`); other values are ignored. */ numerical: SortOrder }
  | { /** The newest `createdAt` among the tags' images. */ created: true }
) & { filterTags?: TagFilter };

/**
 * Policy input as the CLI gives it (`--semver RANGE`, `--alphabetical [asc|desc]` (`true` without a value),
 * `--numerical [asc|desc]`, `--created`, `--filter-tags REGEX`, `--filter-extract TEMPLATE`), or an
 * {@link ImagePolicy} read back from a file. Other properties (the command's other options) are ignored.
 */
export interface PolicySpec {
  semver?: unknown;
  alphabetical?: unknown;
  numerical?: unknown;
  created?: unknown;
  filterTags?: unknown;
  filterExtract?: unknown;
}

/** The answer of a policy: the latest tag and what it points at. */
export interface LatestTag {
  tag: string;
  /** As the tag's state has it: `''` when not resolved yet (tag-only policies answer from names). */
  digest: string;
}

const MAX_RANGE_LENGTH = 256;

/**
 * Validates policy input.
 *
 * @throws InvalidArgumentError (`ERR_MOTE_INVALID_ARGUMENT`) for no rule or several, an invalid semver range, an
 *   unknown order, an invalid or empty regular expression, an extract template naming a group the pattern lacks,
 *   an extract without a pattern or with `created` (which compares no value).
 */
export function parsePolicy(spec: PolicySpec): ImagePolicy {
  if (typeof spec !== 'object' || spec === null) throw new InvalidArgumentError('image policy: expected an object');
  const given = (['semver', 'alphabetical', 'numerical', 'created'] as const).filter((k) => spec[k] !== undefined && spec[k] !== false);
  if (given.length !== 1) {
    throw new InvalidArgumentError(
      given.length === 0
        ? 'image policy: one of semver, alphabetical, numerical or created is required'
        : `image policy: only one of semver, alphabetical, numerical or created may be given (got ${given.join(', ')})`,
    );
  }
  const filterTags = parseFilter(spec.filterTags, spec.filterExtract);
  const rule = parseRule(given[0]!, spec);
  if ('created' in rule && filterTags?.extract !== undefined) {
    throw new InvalidArgumentError('image policy: an extract template has no use with created (it compares creation times, not values)');
  }
  return filterTags ? { ...rule, filterTags } : rule;
}

function parseRule(kind: 'semver' | 'alphabetical' | 'numerical' | 'created', spec: PolicySpec): ImagePolicy {
  const value = spec[kind];
  switch (kind) {
    case 'semver':
      return { semver: checkRange(value) };
    case 'alphabetical':
      return { alphabetical: checkOrder(kind, value) };
    case 'numerical':
      return { numerical: checkOrder(kind, value) };
    case 'created':
      if (value !== true) throw new InvalidArgumentError(`image policy: created takes no value (got ${describe(value)})`);
      return { created: true };
  }
}

function checkRange(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InvalidArgumentError('image policy: semver needs a range, e.g. ^1.2 or ">=1.0.0 <2"');
  if (value.length > MAX_RANGE_LENGTH) throw new InvalidArgumentError(`image policy: the semver range is longer than ${MAX_RANGE_LENGTH} characters`);
  if (semver.validRange(value) === null) throw new InvalidArgumentError(`image policy: invalid semver range ${describe(value)}`);
  return value.trim();
}

function checkOrder(kind: string, value: unknown): SortOrder {
  if (value === true) return 'asc';
  if (value === 'asc' || value === 'desc') return value;
  throw new InvalidArgumentError(`image policy: ${kind} order must be asc or desc (got ${describe(value)})`);
}

function parseFilter(filterTags: unknown, filterExtract: unknown): TagFilter | undefined {
  let filter: TagFilter;
  if (filterTags === undefined) {
    if (filterExtract !== undefined) throw new InvalidArgumentError('image policy: an extract template needs a tag filter pattern');
    return undefined;
  } else if (typeof filterTags === 'string') {
    filter = filterExtract === undefined ? { pattern: filterTags } : { pattern: filterTags, extract: filterExtract as string };
  } else if (typeof filterTags === 'object' && filterTags !== null) {
    // An ImagePolicy's own filter, e.g. read back from a file.
    const { pattern, extract } = filterTags as { pattern?: unknown; extract?: unknown };
    if (filterExtract !== undefined) throw new InvalidArgumentError('image policy: give the extract template inside the tag filter, not beside it');
    filter = extract === undefined ? { pattern: pattern as string } : { pattern: pattern as string, extract: extract as string };
  } else {
    throw new InvalidArgumentError(`image policy: invalid tag filter ${describe(filterTags)}`);
  }
  compileFilter(filter); // validates both
  return filter;
}

/** Whether the policy needs image facts (`createdAt`): only `created`; the others answer from tag names alone. */
export function needsImageFacts(policy: ImagePolicy): boolean {
  return 'created' in policy;
}

/**
 * The latest tag under `policy`, or `undefined` when no tag qualifies. Tags longer than {@link MAX_TAG_LENGTH}
 * are never candidates; a tag whose digest is not resolved yet (`''`) is one for every policy but `created`.
 *
 * @param images The facts of a digest, for `created` (required then); tags whose image or `createdAt` is
 *   unknown are ignored.
 * @throws InvalidArgumentError for an invalid policy (as {@link parsePolicy}), `created` without `images`, or a
 *   filter pattern that runs longer than FILTER_TIME_LIMIT_MS over the tags.
 */
export function selectLatest(
  tags: Readonly<Record<string, TagState>>,
  policy: ImagePolicy,
  images?: (digest: string) => ImageInfo | undefined,
): LatestTag | undefined {
  const checked = parsePolicy(policy);
  const names = Object.keys(tags).filter((t) => t.length <= MAX_TAG_LENGTH && typeof tags[t]?.digest === 'string');
  const values = checked.filterTags ? applyFilter(compileFilter(checked.filterTags), names) : new Map(names.map((t) => [t, t]));

  let best: LatestTag | undefined;
  const consider = <K>(keyOf: (tag: string, value: string) => K | undefined, compare: (a: K, b: K) => number, order: SortOrder): void => {
    let bestKey: K | undefined;
    for (const [tag, value] of values) {
      const key = keyOf(tag, value);
      if (key === undefined) continue;
      let c = best === undefined ? 1 : compare(key, bestKey as K) * (order === 'desc' ? -1 : 1);
      if (c === 0) c = compareBytes(tag, best!.tag);
      if (c > 0) {
        best = { tag, digest: tags[tag]!.digest };
        bestKey = key;
      }
    }
  };

  if ('semver' in checked) {
    const range = new semver.Range(checked.semver);
    const keyOf = (_tag: string, value: string): semver.SemVer | undefined => {
      if (value.trim() !== value) return undefined; // SemVer trims; a tag cannot hold spaces
      const v = semver.parse(value);
      return v !== null && range.test(v) ? v : undefined;
    };
    consider(keyOf, (a, b) => semver.compareBuild(a, b), 'asc');
  } else if ('alphabetical' in checked) {
    consider((_tag, value) => value, compareBytes, checked.alphabetical);
  } else if ('numerical' in checked) {
    consider((_tag, value) => parseNumber(value), compareNumbers, checked.numerical);
  } else {
    if (typeof images !== 'function') throw new InvalidArgumentError('image policy: created needs the images of the tags (an images lookup)');
    const keyOf = (tag: string): number | undefined => {
      const digest = tags[tag]!.digest;
      const createdAt = digest === '' ? undefined : images(digest)?.createdAt;
      const ms = typeof createdAt === 'string' ? Date.parse(createdAt) : NaN;
      return Number.isFinite(ms) ? ms : undefined;
    };
    consider(keyOf, (a, b) => a - b, 'asc');
  }
  return best;
}

/**
 * Byte order of the UTF-8 encodings (Go's string order, which Flux uses), without encoding: UTF-16 code units
 * compare the same way except surrogates, which must sort above U+E000..U+FFFF.
 */
function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codeUnitRank(x) - codeUnitRank(y);
  }
  return a.length - b.length;
}

function codeUnitRank(c: number): number {
  if (c >= 0xd800 && c <= 0xdfff) return c + 0x2000;
  return c >= 0xe000 ? c - 0x800 : c;
}

/** A decimal compared exactly (19-digit nanosecond timestamps do not fit a double). */
interface Decimal {
  negative: boolean;
  /** Without leading zeros. */
  int: string;
  /** Without trailing zeros. */
  frac: string;
}

function parseNumber(s: string): Decimal | undefined {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) return undefined;
  const int = m[2]!.replace(/^0+/, '');
  const frac = (m[3] ?? '').replace(/0+$/, '');
  return { negative: m[1] === '-' && (int !== '' || frac !== ''), int, frac };
}

function compareNumbers(a: Decimal, b: Decimal): number {
  if (a.negative !== b.negative) return a.negative ? -1 : 1;
  const magnitude =
    a.int.length !== b.int.length ? a.int.length - b.int.length : a.int !== b.int ? (a.int < b.int ? -1 : 1) : a.frac === b.frac ? 0 : a.frac < b.frac ? -1 : 1;
  return a.negative ? -magnitude : magnitude;
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value).slice(0, 200) : typeof value;
}
