/**
 * `mote tags`, `mote inspect`, `mote latest` as a user runs them (the built CLI) against a real registry, with the
 * default metadata store (SQLite in the cache): answers, `--json`, `--offline` answering from what an earlier run
 * stored (no request: the registry's own log), typed errors and exit codes.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client.js';
import { pushTaggedImages, type PushedImage } from '../helpers/push-tags.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';
import { moteRunner } from '../helpers/cli.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-cli-images-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const { mote } = moteRunner(scratch);

let registry: RegistryHandle;
let pushed: Map<string, PushedImage>;
let repo: string;

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  const client = new RegistryClient({ credentials: false });
  repo = `${registry.host}/team/app`;
  pushed = await pushTaggedImages(client, { registry: registry.host, repository: 'team/app' }, [
    { tags: ['v1.2.0'], created: '2024-03-01T00:00:00Z', labels: { maintainer: 'ops' } },
    { tags: ['v1.10.0'], created: '2024-01-01T00:00:00Z' },
    { tags: ['v2.0.0-rc.1'], created: '2024-05-01T00:00:00Z' },
    { tags: ['main-abc-1700000000'], created: '2023-11-14T00:00:00Z' },
    { tags: ['main-def-1700000500'], created: '2023-11-14T00:08:20Z' },
  ]);
  await client.close();
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  cleanup();
});

describe.skipIf(reason)('mote tags / inspect / latest (real registry)', () => {
  it('tags lists the tags; --offline then answers from the metadata cache without a request', async () => {
    const cache = fresh('cache');
    const r = await mote(['tags', repo, '--cache', cache]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().split('\n')).toEqual(['main-abc-1700000000', 'main-def-1700000500', 'v1.2.0', 'v1.10.0', 'v2.0.0-rc.1']);
    const before = (await registry.requests()).length;
    const j = await mote(['tags', repo, '--cache', cache, '--offline', '--json']);
    expect(j.code, j.err).toBe(0);
    expect(JSON.parse(j.out)).toMatchObject({ repository: repo, tags: expect.arrayContaining(['v1.2.0', 'v1.10.0']) });
    expect((await registry.requests()).length).toBe(before);
  });

  it('inspect gives the digest, created, labels, platform and layers, by tag and by digest', async () => {
    const cache = fresh('cache');
    const r = await mote(['inspect', `${repo}:v1.2.0`, '--cache', cache, '--json']);
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out) as Record<string, unknown>;
    expect(doc).toMatchObject({
      name: repo,
      tag: 'v1.2.0',
      digest: pushed.get('v1.2.0')!.digest,
      createdAt: '2024-03-01T00:00:00.000Z',
      labels: { maintainer: 'ops' },
      platforms: [{ os: 'linux', architecture: 'amd64' }],
    });
    expect(doc.layers).toHaveLength(1);
    const byDigest = await mote(['inspect', `${repo}@${pushed.get('v1.2.0')!.digest}`, '--cache', cache, '--offline']);
    expect(byDigest.code, byDigest.err).toBe(0);
    expect(byDigest.out).toContain('Created:   2024-03-01T00:00:00.000Z');
    expect(byDigest.out).toContain('maintainer=ops');
  });

  it('latest by semver, numerical with a filter and extract, created; pre-releases only when the range asks', async () => {
    const cache = fresh('cache');
    const latest = async (...args: string[]): Promise<{ tag: string; digest: string }> => {
      const r = await mote(['latest', repo, '--cache', cache, '--json', ...args]);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out) as { tag: string; digest: string };
    };
    expect(await latest('--semver', '^1.0')).toMatchObject({ tag: 'v1.10.0', digest: pushed.get('v1.10.0')!.digest });
    expect((await latest('--semver', '>=2.0.0-rc.0')).tag).toBe('v2.0.0-rc.1');
    expect((await latest('--numerical', '--filter-tags', '^main-[a-f0-9]+-(?<ts>[0-9]+)$', '--filter-extract', '$ts')).tag).toBe('main-def-1700000500');
    expect((await latest('--created')).tag).toBe('v2.0.0-rc.1');
    expect((await latest('--alphabetical', 'desc')).tag).toBe('main-abc-1700000000'); // as Flux: desc selects the first
    expect((await latest('--alphabetical')).tag).toBe('v2.0.0-rc.1');
  });

  it('bad input: a bad policy is exit 2 before any request; an unknown repository exit 3; offline with nothing cached exit 3 saying what to do', async () => {
    const cache = fresh('cache');
    const before = (await registry.requests()).length;
    const bad = await mote(['latest', repo, '--cache', cache, '--semver', 'not a range', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.err)).toMatchObject({ error: { code: 'ERR_MOTE_INVALID_ARGUMENT' } });
    const none = await mote(['latest', repo, '--cache', cache]);
    expect(none.code).toBe(2); // no policy given
    expect((await registry.requests()).length).toBe(before);
    const missing = await mote(['tags', `${registry.host}/team/missing`, '--cache', cache, '--json']);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.err)).toMatchObject({ error: { code: 'ERR_REGISTRY_NOT_FOUND' } });
    const offline = await mote(['inspect', `${repo}:v1.2.0`, '--cache', fresh('cache'), '--offline']);
    expect(offline.code).toBe(3);
    expect(offline.err).toMatch(/not in the metadata cache yet.*mote warm/);
    const image = await mote(['tags', `${repo}:v1`, '--cache', cache]);
    expect(image.code).toBe(2);
  });
});
