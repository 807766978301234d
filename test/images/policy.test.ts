/** "Latest tag" policies (src/images/policy.ts): Flux v2's ImagePolicy rules, the tag filter, and `created`. */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, MoteError } from '../../src/errors.js';
import { FILTER_TIME_LIMIT_MS, needsImageFacts, parsePolicy, selectLatest, type ImagePolicy, type PolicySpec } from '../../src/images/policy.js';
import type { ImageInfo, TagState } from '../../src/images/types.js';
import { PROTO_KEYS, anyString, mutated, outcome, runs } from '../properties/support.js';

const digestOf = (tag: string): string => `sha256:${createHash('sha256').update(tag).digest('hex')}`;
const stateOf = (tag: string): TagState => ({ digest: digestOf(tag), checkedAt: 0, intervalMs: 60_000, deadline: 60_000 });
const tagsOf = (names: readonly string[]): Record<string, TagState> => Object.fromEntries(names.map((t) => [t, stateOf(t)]));
/** The tag selected among `names` under the policy input `spec`. */
const latest = (names: readonly string[], spec: PolicySpec, images?: (digest: string) => ImageInfo | undefined): string | undefined =>
  selectLatest(tagsOf(names), parsePolicy(spec), images)?.tag;

function expectInvalid(fn: () => unknown, message?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(InvalidArgumentError);
  expect((thrown as MoteError).code).toBe('ERR_MOTE_INVALID_ARGUMENT');
  expect((thrown as MoteError).category).toBe('invalid');
  if (message) expect((thrown as Error).message).toMatch(message);
}

describe('semver', () => {
  it('selects the highest version in the range, v-prefixed or not, comparing numbers as numbers', () => {
    const tags = ['v1.0.0', 'v1.2.3', '1.2.10', '1.9.0', 'v2.0.0', 'latest', 'main', 'sha-1a2b3c4'];
    expect(latest(tags, { semver: '^1.2' })).toBe('1.9.0');
    expect(latest(tags, { semver: '~1.2' })).toBe('1.2.10');
    expect(latest(tags, { semver: '>=1.0.0 <2' })).toBe('1.9.0');
    expect(latest(tags, { semver: '*' })).toBe('v2.0.0');
    expect(latest(tags, { semver: '1.x || 3.x' })).toBe('1.9.0');
    expect(latest(tags, { semver: '>=3' })).toBeUndefined();
  });

  it('answers the digest the tag points at', () => {
    expect(selectLatest(tagsOf(['1.0.0', '1.1.0']), { semver: '^1' })).toEqual({ tag: '1.1.0', digest: digestOf('1.1.0') });
  });

  it('ignores what is not strict semver: partial versions, leading zeros, other prefixes', () => {
    expect(latest(['1.2', '01.2.3', 'V1.2.3', '=1.2.3', 'release-1.2.3', '1.2.3.4', '1.0.0'], { semver: '*' })).toBe('1.0.0');
    expect(latest(['1', '1.2', 'v2'], { semver: '*' })).toBeUndefined();
  });

  it('considers pre-releases only where the range names one of the same version (as npm)', () => {
    const tags = ['1.2.3', '1.3.0-rc.1', '1.3.0-rc.2', '2.0.0-beta.1'];
    expect(latest(tags, { semver: '^1.2' })).toBe('1.2.3');
    expect(latest(tags, { semver: '*' })).toBe('1.2.3');
    expect(latest(tags, { semver: '>=1.3.0-rc.0 <2' })).toBe('1.3.0-rc.2');
    expect(latest(tags, { semver: '^2.0.0-0' })).toBe('2.0.0-beta.1');
  });

  it("excludes Docker's variant tags, which read as pre-releases (node's tag list)", () => {
    const node = ['20', '20.11', '20.11.1', '20.11.1-alpine3.19', '20.11.1-bookworm-slim', '20.10.0', 'lts', 'lts-alpine', '21.6.2', 'current-alpine'];
    expect(latest(node, { semver: '^20' })).toBe('20.11.1');
    expect(latest(node, { semver: '>=20' })).toBe('21.6.2');
  });

  it('orders equal versions by build metadata, then by tag name', () => {
    expect(latest(['1.2.3+build.5', '1.2.3+build.10', '1.2.2'], { semver: '^1' })).toBe('1.2.3+build.10');
    expect(latest(['1.2.3', 'v1.2.3'], { semver: '^1' })).toBe('v1.2.3');
    expect(latest(['v1.2.3', '1.2.3'], { semver: '^1' })).toBe('v1.2.3');
  });
});

describe('alphabetical', () => {
  const stamps = ['2021-01-28.133158', '2021-01-29.090000', '2020-12-31.235959', 'latest'];

  it('asc (the default, as Flux) selects the tag that sorts last; desc the first', () => {
    expect(latest(stamps, { alphabetical: true })).toBe('latest');
    expect(latest(stamps.slice(0, 3), { alphabetical: true })).toBe('2021-01-29.090000');
    expect(latest(stamps.slice(0, 3), { alphabetical: 'asc' })).toBe('2021-01-29.090000');
    expect(latest(stamps, { alphabetical: 'desc' })).toBe('2020-12-31.235959');
  });

  it('compares bytes: uppercase before lowercase, digits before letters, UTF-8 order beyond the BMP', () => {
    expect(latest(['Z', 'a', 'B', '9'], { alphabetical: 'asc' })).toBe('a');
    expect(latest(['Z', 'a', 'B', '9'], { alphabetical: 'desc' })).toBe('9');
    // In UTF-16 code units U+1F600 (a surrogate pair) would sort before U+FF5E; in UTF-8 bytes it sorts after.
    expect(latest(['\uFF5E', '\u{1F600}'], { alphabetical: 'asc' })).toBe('\u{1F600}');
  });

  it('never considers names longer than an OCI tag can be', () => {
    expect(latest(['a', 'z'.repeat(129)], { alphabetical: 'asc' })).toBe('a');
    expect(latest(['a', 'z'.repeat(128)], { alphabetical: 'asc' })).toBe('z'.repeat(128));
  });

  it("answers a tag whose digest is not resolved yet with '' (created cannot use it)", () => {
    const tags = { ...tagsOf(['a', 'b']), c: { ...stateOf('c'), digest: '' } };
    expect(selectLatest(tags, { alphabetical: 'asc' })).toEqual({ tag: 'c', digest: '' });
    const seen: string[] = [];
    const images = (digest: string): ImageInfo | undefined => (seen.push(digest), undefined);
    expect(selectLatest(tags, { created: true }, images)).toBeUndefined();
    expect(seen.sort()).toEqual([digestOf('a'), digestOf('b')].sort());
  });

  it('selects nothing from no tags', () => {
    expect(latest([], { alphabetical: 'asc' })).toBeUndefined();
    expect(selectLatest({}, { created: true }, () => undefined)).toBeUndefined();
  });
});

describe('numerical', () => {
  it('compares integers and decimals by value, ignoring what is not a number', () => {
    const tags = ['1611840548', '1611840549', '999999999', '12', 'latest', '1.5e3', '0x10', 'Infinity', 'NaN', 'v3', '1,5', ''];
    expect(latest(tags, { numerical: true })).toBe('1611840549');
    expect(latest(tags, { numerical: 'desc' })).toBe('12');
    expect(latest(['1.5', '1.10', '1.05'], { numerical: 'asc' })).toBe('1.5');
    expect(latest(['1.5', '1.10', '1.05', '2'], { numerical: 'asc' })).toBe('2');
    expect(latest(['1.5', '1.10', '1.05'], { numerical: 'desc' })).toBe('1.05');
    expect(latest(['latest', 'main', '1e5'], { numerical: 'asc' })).toBeUndefined();
  });

  it('is exact beyond the precision of a double (nanosecond timestamps)', () => {
    expect(Number('1700000000000000001')).toBe(Number('1700000000000000002'));
    expect(latest(['1700000000000000002', '1700000000000000001'], { numerical: 'asc' })).toBe('1700000000000000002');
    expect(latest(['1700000000000000002', '1700000000000000001'], { numerical: 'desc' })).toBe('1700000000000000001');
  });

  it('breaks ties of equal values by tag name', () => {
    expect(latest(['01', '1'], { numerical: 'asc' })).toBe('1');
    expect(latest(['1.0', '1', '0.5'], { numerical: 'asc' })).toBe('1.0');
    expect(latest(['1.0', '1', '5'], { numerical: 'desc' })).toBe('1.0');
  });
});

describe('created', () => {
  const created: Record<string, string | undefined> = {
    old: '2024-01-01T00:00:00Z',
    new: '2024-03-01T12:00:00.123456789Z',
    'new-too': '2024-03-01T14:00:00.123+02:00', // the same instant
    'no-date': undefined,
    'bad-date': 'yesterday',
  };
  const images = (digest: string): ImageInfo | undefined => {
    const tag = Object.keys(created).find((t) => digestOf(t) === digest);
    if (tag === undefined) return undefined;
    const info = { reference: `r/x:${tag}@${digest}`, digest, mediaType: 'x', labels: {}, platforms: [], layers: [], size: 1, lastFetched: 0 } as ImageInfo;
    return created[tag] === undefined ? info : { ...info, createdAt: created[tag] };
  };

  it('selects the newest image; unknown images and dates are ignored; ties go to the tag name', () => {
    expect(latest(['old', 'no-date', 'bad-date', 'unknown'], { created: true }, images)).toBe('old');
    expect(latest(['old', 'new', 'new-too', 'unknown'], { created: true }, images)).toBe('new-too');
    expect(latest(['no-date', 'unknown'], { created: true }, images)).toBeUndefined();
    expect(latest(['old', 'new', 'new-too'], { created: true, filterTags: '^(old|new)$' }, images)).toBe('new');
  });

  it('is the only policy that needs image facts, and fails without them', () => {
    expect(needsImageFacts(parsePolicy({ created: true }))).toBe(true);
    for (const spec of [{ semver: '*' }, { alphabetical: true }, { numerical: 'desc' }] as const) expect(needsImageFacts(parsePolicy(spec))).toBe(false);
    expectInvalid(() => selectLatest(tagsOf(['old']), { created: true }), /images/);
  });
});

describe('tag filter and extract', () => {
  const builds = ['main-a1b2c3d-1611840548', 'main-0f1e2d3-1611840549', 'main-abcdef0-999', 'feature-x-123-1711840548', 'main-zzz-1999999999', 'latest'];

  it("Flux's example: the newest build of main by the timestamp in its tag", () => {
    expect(latest(builds, { numerical: 'asc', filterTags: '^main-[a-f0-9]+-(?<ts>[0-9]+)', filterExtract: '$ts' })).toBe('main-0f1e2d3-1611840549');
    // Flux's own spelling of the named group (Go's) is accepted as it is.
    expect(latest(builds, { numerical: 'asc', filterTags: '^main-[a-f0-9]+-(?P<ts>[0-9]+)', filterExtract: '$ts' })).toBe('main-0f1e2d3-1611840549');
    expect(latest(builds, { numerical: 'desc', filterTags: '^main-[a-f0-9]+-(?<ts>[0-9]+)', filterExtract: '${ts}' })).toBe('main-abcdef0-999');
  });

  it('without an extract, compares the whole tag of the tags that match', () => {
    expect(latest(['v1.0.0', 'v1.1.0', '1.5.0'], { semver: '*', filterTags: '^v' })).toBe('v1.1.0');
    expect(latest(builds, { alphabetical: 'asc', filterTags: '^main-' })).toBe('main-zzz-1999999999');
    expect(latest(builds, { alphabetical: 'asc', filterTags: '^nothing' })).toBeUndefined();
  });

  it('numbered groups, literal text, $$ and groups that did not take part', () => {
    expect(latest(['app-1.2.3', 'app-1.10.0', 'other-9.9.9'], { semver: '^1', filterTags: '^app-(.+)$', filterExtract: '$1' })).toBe('app-1.10.0');
    // Build metadata written as `_` (OCI tags cannot hold `+`, Helm's convention), put back by the template.
    const helm = ['1.2.3_build.5', '1.2.3_build.10', '1.2.2'];
    expect(latest(helm, { semver: '^1', filterTags: '^(\\d+\\.\\d+\\.\\d+)_(.+)$', filterExtract: '${1}+$2' })).toBe('1.2.3_build.10');
    expect(latest(['a-1', 'b-2'], { alphabetical: 'desc', filterTags: '^(?<p>[a-z])-(?<n>\\d)$', filterExtract: '$n$$$p' })).toBe('a-1');
    expect(latest(['x7', '8', 'x9'], { alphabetical: 'asc', filterTags: '^(?<x>x)?(?<n>\\d)$', filterExtract: '$x$n' })).toBe('x9');
    expect(latest(['x7', '8', 'x9'], { alphabetical: 'desc', filterTags: '^(?<x>x)?(?<n>\\d)$', filterExtract: '$x$n' })).toBe('8');
  });

  it('breaks ties of equal extracted values by tag name', () => {
    expect(latest(['a-5', 'b-5', 'c-4'], { numerical: 'asc', filterTags: '-(\\d+)$', filterExtract: '$1' })).toBe('b-5');
    expect(latest(['b-5', 'a-5', 'c-6'], { numerical: 'desc', filterTags: '-(\\d+)$', filterExtract: '$1' })).toBe('b-5');
  });

  it('stops a catastrophic pattern within its time limit with a typed error', () => {
    const start = performance.now();
    expectInvalid(() => latest(['a'.repeat(100) + '!'], { alphabetical: 'asc', filterTags: '^(a+)+$' }), /took more than/);
    expect(performance.now() - start).toBeLessThan(FILTER_TIME_LIMIT_MS + 2000);
    // A sane pattern over many tags stays far below it.
    const many = Array.from({ length: 20_000 }, (_, i) => `main-${i.toString(16).padStart(7, '0')}-${1_600_000_000 + i}`);
    expect(latest(many, { numerical: 'asc', filterTags: '^main-[a-f0-9]+-(?<ts>[0-9]+)$', filterExtract: '$ts' })).toBe(many.at(-1));
  });
});

describe('parsePolicy', () => {
  it('reads the CLI options (ignoring the others) and normalises the order', () => {
    expect(parsePolicy({ alphabetical: true, json: true, store: '/tmp/x' } as PolicySpec)).toEqual({ alphabetical: 'asc' });
    expect(parsePolicy({ numerical: 'desc', created: false })).toEqual({ numerical: 'desc' });
    expect(parsePolicy({ semver: ' ^1.2 ' })).toEqual({ semver: '^1.2' });
    expect(parsePolicy({ created: true, filterTags: '^main-' })).toEqual({ created: true, filterTags: { pattern: '^main-' } });
    const flux = parsePolicy({ numerical: 'asc', filterTags: '^main-[a-f0-9]+-(?P<ts>[0-9]+)', filterExtract: '$ts' });
    expect(flux).toEqual({ numerical: 'asc', filterTags: { pattern: '^main-[a-f0-9]+-(?P<ts>[0-9]+)', extract: '$ts' } });
    // A policy read back (from a file) is valid input, and reads back the same.
    expect(parsePolicy(JSON.parse(JSON.stringify(flux)) as PolicySpec)).toEqual(flux);
  });

  it.each<[string, PolicySpec, RegExp]>([
    ['no rule', {}, /one of/],
    ['two rules', { semver: '^1', created: true }, /only one/],
    ['an empty range', { semver: '' }, /range/],
    ['a blank range', { semver: '  ' }, /range/],
    ['a bad range', { semver: '^^1' }, /invalid semver range/],
    ['a word for a range', { semver: 'latest' }, /invalid semver range/],
    ['a range that is not a string', { semver: 1 }, /range/],
    ['an unknown order', { alphabetical: 'up' }, /asc or desc/],
    ['an order in capitals', { numerical: 'DESC' }, /asc or desc/],
    ['a value for created', { created: 'yes' }, /created/],
    ['a bad regular expression', { alphabetical: true, filterTags: '(' }, /invalid regular expression/],
    ['an unclosed class', { alphabetical: true, filterTags: '[a-' }, /invalid regular expression/],
    ['an empty pattern', { alphabetical: true, filterTags: '' }, /non-empty/],
    ['a pattern that is no string', { alphabetical: true, filterTags: 5 }, /invalid tag filter/],
    ['an extract without a pattern', { numerical: true, filterExtract: '$1' }, /needs a tag filter/],
    ['an extract of an unknown name', { numerical: true, filterTags: '^main-(?<ts>\\d+)', filterExtract: '$time' }, /no group/],
    ['an extract of a missing number', { numerical: true, filterTags: '^main-(\\d+)', filterExtract: '$2' }, /1 groups/],
    ['a lone $', { numerical: true, filterTags: '^main-(\\d+)', filterExtract: 'cost $' }, /\$\$/],
    ['an empty ${}', { numerical: true, filterTags: '^main-(\\d+)', filterExtract: '${}' }, /\$\$/],
    ['an empty extract', { numerical: true, filterTags: '^main-(\\d+)', filterExtract: '' }, /non-empty/],
    ['an extract with created', { created: true, filterTags: '^main-(\\d+)', filterExtract: '$1' }, /created/],
    ['an extract beside a filter object', { numerical: true, filterTags: { pattern: '(\\d+)' }, filterExtract: '$1' }, /inside/],
  ])('refuses %s with a typed error', (_, spec, message) => {
    expectInvalid(() => parsePolicy(spec), message);
  });

  it('refuses what is not an object, and selectLatest checks a hand-made policy the same way', () => {
    expectInvalid(() => parsePolicy(null as unknown as PolicySpec));
    expectInvalid(() => selectLatest(tagsOf(['1.0.0']), { semver: 'nope' }), /invalid semver range/);
    expectInvalid(() => selectLatest(tagsOf(['1.0.0']), { alphabetical: 'sideways' } as unknown as ImagePolicy), /asc or desc/);
  });
});

describe('properties', () => {
  const semverTag = fc
    .tuple(fc.boolean(), fc.nat(3), fc.nat(12), fc.nat(12), fc.constantFrom('', '-rc.1', '-rc.10', '-alpha', '-alpine3.19'), fc.constantFrom('', '+b.1', '+b.10'))
    .map(([v, a, b, c, pre, build]) => `${v ? 'v' : ''}${a}.${b}.${c}${pre}${build}`);
  const numberTag = fc.oneof(
    fc.nat().map(String),
    fc.tuple(fc.nat(99), fc.stringMatching(/^\d{1,4}$/)).map(([i, f]) => `${i}.${f}`),
    fc.bigInt({ min: 10n ** 18n, max: 10n ** 19n }).map(String),
    fc.stringMatching(/^0{1,3}\d{1,3}$/),
  );
  const buildTag = fc.tuple(fc.constantFrom('main', 'dev'), fc.stringMatching(/^[0-9a-f]{7}$/), fc.nat()).map(([b, sha, ts]) => `${b}-${sha}-${ts}`);
  const tag = fc.oneof(semverTag, numberTag, buildTag, fc.string({ maxLength: 8 }), fc.constantFrom(...PROTO_KEYS, 'latest', '', 'z'.repeat(129)));

  /** Filters, each with what it extracts (the oracle's own reading of the template). */
  const FILTERS: ReadonlyArray<{ pattern: string; extract?: string; value: (m: RegExpExecArray) => string }> = [
    { pattern: '^v', value: (m) => m.input },
    { pattern: '^main-[a-f0-9]+-(?<ts>[0-9]+)', extract: '$ts', value: (m) => m.groups!.ts! },
    { pattern: '(\\d+)$', extract: 'n$1', value: (m) => `n${m[1]}` },
    { pattern: '^v?(?<v>.*)$', extract: '${v}', value: (m) => m.groups!.v! },
  ];
  const RANGES = ['^1', '>=1.0.0 <2', '*', '~2.3', '>=1.0.0-rc.0', '1.x || 3.x', '>=0.0.0-0'];
  const DATES = ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000Z', '2025-06-30T23:59:59Z', '2023-12-31T23:59:59+00:00', 'garbage', undefined];

  const rule = fc.oneof(
    fc.constantFrom<PolicySpec>({ alphabetical: 'asc' }, { alphabetical: 'desc' }, { numerical: 'asc' }, { numerical: 'desc' }, { created: true }),
    fc.constantFrom(...RANGES).map((r): PolicySpec => ({ semver: r })),
  );

  type Candidate = { tag: string; key: unknown };
  /** An independent reading of each rule: what the candidates are, and which of two is better. */
  function reference(names: string[], spec: PolicySpec, filterIndex: number, dateOf: (tag: string) => string | undefined): string | undefined {
    const filter = FILTERS[filterIndex];
    const candidates: Candidate[] = [];
    const bytes = (s: string) => Buffer.from(s, 'utf8');
    for (const tag of names) {
      if (tag.length > 128) continue;
      let value = tag;
      if (filter) {
        const m = new RegExp(filter.pattern).exec(tag);
        if (!m) continue;
        if (filter.extract !== undefined) value = filter.value(m);
      }
      if (typeof spec.semver === 'string') {
        if (value.trim() === value && semver.valid(value) && semver.satisfies(value, spec.semver)) candidates.push({ tag, key: value });
      } else if (spec.numerical) {
        const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value);
        if (m) candidates.push({ tag, key: m });
      } else if (spec.created) {
        const ms = Date.parse(dateOf(tag) ?? '');
        if (Number.isFinite(ms)) candidates.push({ tag, key: ms });
      } else {
        candidates.push({ tag, key: value });
      }
    }
    const scaled = (a: RegExpExecArray, digits: number) => BigInt(a[2]! + (a[3] ?? '').padEnd(digits, '0')) * (a[1] ? -1n : 1n);
    const compare = (a: Candidate, b: Candidate): number => {
      if (typeof spec.semver === 'string') return semver.compareBuild(a.key as string, b.key as string);
      if (spec.created) return (a.key as number) - (b.key as number);
      const sign = spec.alphabetical === 'desc' || spec.numerical === 'desc' ? -1 : 1;
      if (spec.alphabetical) return sign * Buffer.compare(bytes(a.key as string), bytes(b.key as string));
      const [x, y] = [a.key as RegExpExecArray, b.key as RegExpExecArray];
      const digits = Math.max(x[3]?.length ?? 0, y[3]?.length ?? 0);
      const [p, q] = [scaled(x, digits), scaled(y, digits)];
      return sign * (p === q ? 0 : p < q ? -1 : 1);
    };
    candidates.sort((a, b) => compare(a, b) || Buffer.compare(bytes(a.tag), bytes(b.tag)));
    return candidates.at(-1)?.tag;
  }

  it('the selected tag passes the filter and no other candidate beats it, whatever order the tags came in', () => {
    const input = fc.record({
      names: fc.uniqueArray(tag, { maxLength: 20 }),
      spec: rule,
      filter: fc.integer({ min: -1, max: FILTERS.length - 1 }),
      dates: fc.array(fc.constantFrom(...DATES), { minLength: 4, maxLength: 4 }),
    });
    fc.assert(
      fc.property(input, ({ names, spec, filter, dates }) => {
        const f = FILTERS[filter];
        if (spec.created && f?.extract !== undefined) return; // refused by parsePolicy (tested above)
        const full: PolicySpec = f ? { ...spec, filterTags: f.pattern, ...(f.extract !== undefined && { filterExtract: f.extract }) } : spec;
        const policy = parsePolicy(full);
        const dateOf = (tag: string): string | undefined => dates[createHash('md5').update(tag).digest()[0]! % dates.length];
        const byDigest = new Map(names.map((t) => [digestOf(t), dateOf(t)]));
        const images = (digest: string): ImageInfo | undefined => {
          if (!byDigest.has(digest)) return undefined;
          const createdAt = byDigest.get(digest);
          const info = { reference: 'r', digest, mediaType: 'x', labels: {}, platforms: [], layers: [], size: 0, lastFetched: 0 } as ImageInfo;
          return createdAt === undefined ? info : { ...info, createdAt };
        };
        const expected = reference(names, spec, filter, dateOf);
        const got = selectLatest(tagsOf(names), policy, images);
        expect(got?.tag).toBe(expected);
        if (got) expect(got.digest).toBe(digestOf(got.tag));
        expect(selectLatest(tagsOf([...names].reverse()), policy, images)?.tag).toBe(expected);
      }),
      runs(0x9011c1),
    );
  });

  it('parsePolicy: any input gives a policy or ERR_MOTE_INVALID_ARGUMENT, and a policy reads back as itself', () => {
    const value = fc.oneof(
      fc.constantFrom<unknown>(undefined, true, false, 'asc', 'desc', null, 0, {}),
      anyString(40),
      mutated(fc.constantFrom(...RANGES, '^main-[a-f0-9]+-(?<ts>[0-9]+)', '(?P<ts>\\d+)', '$ts', '${1}', '$$')),
    );
    const spec = fc.record(
      { semver: value, alphabetical: value, numerical: value, created: value, filterTags: value, filterExtract: value },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(spec, (s) => {
        const r = outcome(() => parsePolicy(s), ['ERR_MOTE_INVALID_ARGUMENT']);
        if (r instanceof MoteError) return;
        expect(parsePolicy(r)).toEqual(r);
        expect(selectLatest(tagsOf(['1.0.0', 'main-abc1234-5', 'v2']), r, () => undefined)).not.toBeInstanceOf(Error);
      }),
      runs(0x9011c2),
    );
  });
});
