/**
 * How a repository state is stored (src/metadata/repository-codec.ts): columns with each digest once, the object
 * form of earlier versions still read, and a damaged or hostile record read as a miss (never thrown, never half).
 */
import { describe, expect, it } from 'vitest';
import { digestOf } from '../../src/digest/index.js';
import { KvImageMetadataStore, MemoryKeyValueStore, metadataKeys, type RepositoryState, type TagState } from '../../src/metadata/index.js';
import { decodeRepository, encodeRepository } from '../../src/metadata/repository-codec.js';
import { writeRecord } from '../../src/metadata/records.js';

const REPO = 'registry.example.com/team/app';
const d = (i: number) => digestOf(`image ${i}`);
const tag = (digest: string, i: number, extra: Partial<TagState> = {}): TagState => ({
  digest,
  checkedAt: 1_700_000_000_000 + i,
  intervalMs: 3_600_000,
  deadline: 1_700_003_600_000 + i,
  ...extra,
});

function manyTags(n: number, digests: number): RepositoryState {
  const tags: Record<string, TagState> = {};
  for (let i = 0; i < n; i++) tags[`t${String(i).padStart(6, '0')}`] = tag(d(i % digests), i);
  return { repository: REPO, lastUpdate: 1_700_000_000_000, tags };
}

async function storeWithBody(body: unknown): Promise<KvImageMetadataStore> {
  const kv = new MemoryKeyValueStore();
  await writeRecord(kv, metadataKeys.repository(REPO), Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
  return new KvImageMetadataStore(kv);
}

describe('repository records', () => {
  it('100,000 tags on 10 digests: each digest written once, ~5 MB (the object form was 16.7 MB), decoded to the same state with one string per digest', () => {
    const state = manyTags(100_000, 10);
    const body = encodeRepository(state);
    const objectForm = Buffer.byteLength(JSON.stringify(state));
    expect(body.length).toBeLessThan(objectForm / 2.5);
    expect(body.toString().split(d(3)).length - 1).toBe(1);
    const back = decodeRepository(body);
    expect(JSON.stringify(back)).toBe(JSON.stringify(state));
    expect(back.tags.t000003!.digest).toBe(back.tags.t000013!.digest);
  });

  it('unresolved and excluded tags, lastError and a tag named __proto__ round-trip; the object form (format 1) is still read', async () => {
    const state: RepositoryState = {
      repository: REPO,
      lastUpdate: 5,
      tags: Object.fromEntries([
        ['a', tag(d(1), 1)],
        ['new', tag('', 2, { checkedAt: 0, deadline: 0 })],
        ['skip', tag(d(2), 3, { excluded: 'excluded by the tag filter' })],
        ['skip2', tag('', 4, { excluded: 'excluded by the tag filter' })],
        ['__proto__', tag(d(1), 5)],
      ]),
      lastError: { message: 'registry answered 503', code: 'ERR_REGISTRY_UNAVAILABLE', at: 6 },
    };
    const back = decodeRepository(encodeRepository(state));
    expect(back).toEqual(state);
    expect(Object.hasOwn(back.tags, '__proto__')).toBe(true);
    const old = await storeWithBody(state);
    expect(await old.getRepository(REPO)).toEqual(state);
  });

  const good = JSON.parse(encodeRepository({ repository: REPO, lastUpdate: 1, tags: { a: tag(d(1), 1), b: tag('', 2) } }).toString()) as Record<string, unknown>;
  const damaged: Array<[string, unknown]> = [
    ['not JSON', '{"format":2,'],
    ['an unknown format', { ...good, format: 3 }],
    ['a column shorter than the tags', { ...good, deadline: [1] }],
    ['a column that is not an array', { ...good, checkedAt: 'x' }],
    ['a digest index out of range', { ...good, digest: [5, -1] }],
    ['a fractional index', { ...good, digest: [0.5, -1] }],
    ['a repeated tag', { ...good, tags: ['a', 'a'] }],
    ['an invalid tag', { ...good, tags: ['a', '../etc'] }],
    ['an invalid digest in the table', { ...good, digests: ['sha256:nothex'] }],
    ['a negative time', { ...good, checkedAt: [-1, 0] }],
    ['an exclusion index with no reasons', { ...good, excluded: [0, -1] }],
    ['another repository', { ...good, repository: 'registry.example.com/team/other' }],
  ];
  for (const [label, body] of damaged) {
    it(`a record with ${label} reads as a miss`, async () => {
      const store = await storeWithBody(body);
      expect(await store.getRepository(REPO)).toBeUndefined();
    });
  }
});
