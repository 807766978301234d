/**
 * Review probes: `mote tags | inspect | latest | warm` as users run them (the built CLI, dist/bin/mote.js) against
 * a real registry, with the fault-injecting proxy for slowness and garbage: what a cold `mote tags` costs, what
 * `--offline` really does, malformed names on every command, SIGTERM / SIGKILL of `mote warm` mid-cycle and the
 * restart after, several warmer processes on one SQLite store, and the long-running warmer's loop.
 *
 * The failing tests here are findings; the ones that pass are what held up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../src/oci/media-types.js';
import { RegistryClient } from '../../src/registry/client.js';
import { FaultInjectingProxy, type FaultAction, type FaultRequestInfo } from '../helpers/fault-proxy.js';
import { freePort } from '../helpers/net.js';
import { redisUnavailableReason, startRedis } from '../helpers/redis.js';
import { pushTaggedImages, type PushedImage } from '../helpers/push-tags.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';
import { mote, served, sleep, startMote, waitFor } from '../helpers/hostile-images.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-review-cli-');
let n = 0;
const fresh = (label: string): string => `${scratch}/${label}-${++n}`;
let registry: RegistryHandle;
let proxy: FaultInjectingProxy;
const rules = new Map<string, (req: FaultRequestInfo) => FaultAction | Promise<FaultAction>>();
const TEN = Array.from({ length: 10 }, (_, i) => `v1.${i}.0`);
let cost: Map<string, PushedImage>;

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  const client = new RegistryClient({ credentials: false });
  cost = await pushTaggedImages(client, { registry: registry.host, repository: 'cli/cost' }, TEN.map((t) => ({ tags: [t] })));
  for (const r of ['cli/kill', 'cli/term', 'cli/a', 'cli/b', 'cli/c']) {
    await pushTaggedImages(client, { registry: registry.host, repository: r }, TEN.slice(0, 4).map((t, i) => ({ tags: [t], created: `2024-0${i + 1}-01T00:00:00Z` })));
  }
  await client.close();
  proxy = await FaultInjectingProxy.start(registry.host, (req) => {
    const m = /^\/v2\/(.+?)\/(tags|manifests|blobs)\//.exec(req.path);
    const rule = m ? rules.get(m[1]!) : undefined;
    return rule ? rule(req) : 'pass';
  });
}, 180_000);
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  cleanup();
});

describe.skipIf(reason)('what a cold read costs', () => {
  it('`mote tags` on an empty cache asks for the tag list only (like skopeo list-tags), not a HEAD per tag and every manifest and config', async () => {
    const repo = `${registry.host}/cli/cost`;
    const before = (await registry.requests()).length;
    const r = await mote(scratch, ['tags', repo, '--cache', fresh('cache')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(10);
    const s = await served(registry, before, 'cli/cost');
    expect(s, 'what `mote tags` of a 10-tag repository asked the registry').toEqual({ tags: 1, head: 0, manifest: 0, blob: 0, total: 1 });
  });

  it('`mote latest --semver` on an empty cache: the tag list and at most one HEAD (docs: "tag-only policies answer after one request")', async () => {
    const repo = `${registry.host}/cli/cost`;
    const before = (await registry.requests()).length;
    const r = await mote(scratch, ['latest', repo, '--semver', '^1.0', '--cache', fresh('cache')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim()).toBe(`v1.9.0 ${cost.get('v1.9.0')!.digest}`);
    const s = await served(registry, before, 'cli/cost');
    expect(s.total, JSON.stringify(s)).toBeLessThanOrEqual(2);
  });
});

describe.skipIf(reason)('errors users see', () => {
  it('`mote inspect repo:no-such-tag` says the registry has no such tag, not "not in the metadata cache yet: run mote warm"', async () => {
    const cache = fresh('cache');
    const repo = `${registry.host}/cli/cost`;
    expect((await mote(scratch, ['tags', repo, '--cache', cache])).code).toBe(0);
    const r = await mote(scratch, ['inspect', `${repo}:v9.9.9`, '--cache', cache, '--json']);
    expect(r.code).toBe(3);
    const err = JSON.parse(r.err.trim().split('\n').pop()!) as { error: { code: string; message: string } };
    expect(err.error.code, err.error.message).toBe('ERR_REGISTRY_NOT_FOUND');
  });

  it('`--offline --refresh` is refused as a usage error (exit 2), not answered "not cached" for what the cache holds', async () => {
    const cache = fresh('cache');
    const repo = `${registry.host}/cli/cost`;
    expect((await mote(scratch, ['tags', repo, '--cache', cache])).code).toBe(0);
    const r = await mote(scratch, ['tags', repo, '--cache', cache, '--offline', '--refresh']);
    expect({ code: r.code, err: r.err.trim().slice(0, 60) }).toMatchObject({ code: 2 });
  });

  it('a registry listing one malformed tag name: `mote tags` still lists the valid tags (it is not the user\'s usage error, exit 2)', async () => {
    const real = cost.get('v1.0.0')!;
    rules.set('cli/names', (req): FaultAction => {
      if (req.path.endsWith('/tags/list')) return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'cli/names', tags: ['v1.0.0', 'bad tag'] }) };
      if (req.method === 'HEAD') return { status: 200, headers: { 'docker-content-digest': real.digest, 'content-type': MediaType.OciManifest, 'content-length': '400' } };
      return 'pass';
    });
    try {
      const r = await mote(scratch, ['tags', `${proxy.host}/cli/names`, '--cache', fresh('cache')]);
      expect({ code: r.code, out: r.out.trim(), err: r.err.trim().slice(0, 200) }).toEqual({ code: 0, out: 'v1.0.0', err: '' });
    } finally {
      rules.delete('cli/names');
    }
  });

  it('held: --offline never contacts the registry (hits, misses, a digest never seen, --created), and a miss is exit 3', async () => {
    const cache = fresh('cache');
    const repo = `${proxy.host}/cli/a`;
    expect((await mote(scratch, ['warm', repo, '--once', '--cache', cache])).code).toBe(0);
    const before = proxy.requests.length;
    const codes: Record<string, number | null> = {};
    const run = async (label: string, args: string[]) => (codes[label] = (await mote(scratch, [...args, '--cache', cache, '--offline'])).code);
    await run('tags', ['tags', repo]);
    await run('inspect hit', ['inspect', `${repo}:v1.0.0`]);
    await run('inspect unknown tag', ['inspect', `${repo}:v7.7.7`]);
    await run('inspect unknown digest', ['inspect', `${repo}@sha256:${'b'.repeat(64)}`]);
    await run('latest semver', ['latest', repo, '--semver', '^1']);
    await run('latest created', ['latest', repo, '--created']);
    await run('tags of an unknown repository', ['tags', `${proxy.host}/cli/nothing`]);
    expect(codes).toEqual({ tags: 0, 'inspect hit': 0, 'inspect unknown tag': 3, 'inspect unknown digest': 3, 'latest semver': 0, 'latest created': 0, 'tags of an unknown repository': 3 });
    expect(proxy.requests.length - before).toBe(0);
  });

  it('held: malformed repository names and references on every command are usage errors (exit 2), with no request and no stack trace', async () => {
    const cache = fresh('cache');
    const h = registry.host;
    const before = (await registry.requests()).length;
    const cases: string[][] = [
      ['tags', ''],
      ['tags', `${h}/Team/App`],
      ['tags', `${h}/team/app:v1`],
      ['tags', `${h}/team/app@sha256:${'a'.repeat(64)}`],
      ['tags', `${h}/../etc`],
      ['tags', `${h}/team//app`],
      ['tags', `${h}/${'a'.repeat(300)}`],
      ['tags', `http://${h}/team/app`],
      ['tags', `127.0.0.1:99999/team/app`],
      ['inspect', `${h}/team/app:bad tag`],
      ['inspect', `${h}/team/app@sha256:abc`],
      ['inspect', `${h}/team/app:${'t'.repeat(129)}`],
      ['inspect', `${h}/team/app@@sha256:${'a'.repeat(64)}`],
      ['latest', `${h}/team/app:v1`, '--semver', '^1'],
      ['latest', `${h}/team/app`],
      ['latest', `${h}/team/app`, '--semver', 'not a range'],
      ['latest', `${h}/team/app`, '--semver', '^1', '--alphabetical'],
      ['latest', `${h}/team/app`, '--numerical', 'sideways'],
      ['latest', `${h}/team/app`, '--alphabetical', '--filter-tags', '(unclosed'],
      ['latest', `${h}/team/app`, '--alphabetical', '--filter-extract', '$1'],
      ['warm', `${h}/team/app:v1`, '--once'],
      ['warm', `${h}/Team/App`, '--once'],
      ['warm', `${h}/team/app`, '--once', '--interval', '-5m'],
      ['warm', `${h}/team/app`, '--once', '--listen', '127.0.0.1:70000'],
      ['warm', `${h}/team/app`, '--once', '--store', 'sqlite:'],
    ];
    const bad: string[] = [];
    for (const args of cases) {
      const r = await mote(scratch, [...args, '--cache', cache]);
      if (r.code !== 2 || /\n\s+at /.test(r.err)) bad.push(`${JSON.stringify(args)} -> ${r.code}: ${r.err.trim().slice(0, 160)}`);
    }
    expect(bad).toEqual([]);
    expect((await served(registry, before)).total).toBe(0);
  }, 120_000);
});

describe.skipIf(reason)('mote warm interrupted mid-cycle', () => {
  const slowHeads = (repository: string) =>
    rules.set(repository, async (req): Promise<FaultAction> => {
      if (req.method === 'HEAD') await sleep(2000);
      return 'pass';
    });

  it('SIGTERM mid-cycle: exits within 5 s, and the store does not record the shutdown as the repository\'s lastError', async () => {
    slowHeads('cli/term');
    try {
      const cache = fresh('cache');
      const repo = `${proxy.host}/cli/term`;
      const from = proxy.requests.length;
      const w = startMote(scratch, ['warm', repo, '--cache', cache, '--interval', '1h']);
      await waitFor(() => proxy.requests.slice(from).some((r) => r.method === 'HEAD'), 20_000, 'the first HEAD');
      const t = Date.now();
      w.child.kill('SIGTERM');
      const end = await w.done;
      expect(Date.now() - t).toBeLessThan(6000);
      expect(end.code, end.err).toBe(0);
      const tags = await mote(scratch, ['tags', repo, '--cache', cache, '--offline', '--json']);
      expect(tags.code, tags.err).toBe(0);
      const doc = JSON.parse(tags.out) as { tags: string[]; lastError?: { message: string } };
      expect(doc.tags).toHaveLength(4);
      expect(doc.lastError, 'an interrupted refresh is not a registry failure').toBeUndefined();
    } finally {
      rules.delete('cli/term');
    }
  });

  it('SIGKILL mid-cycle, then `mote warm --once`: the store reads back, and the restart finishes the tags the killed run left unresolved', async () => {
    slowHeads('cli/kill');
    const cache = fresh('cache');
    const repo = `${proxy.host}/cli/kill`;
    try {
      const from = proxy.requests.length;
      const w = startMote(scratch, ['warm', repo, '--cache', cache, '--interval', '1h']);
      await waitFor(() => proxy.requests.slice(from).some((r) => r.method === 'HEAD'), 20_000, 'the first HEAD');
      w.child.kill('SIGKILL');
      await w.done;
    } finally {
      rules.delete('cli/kill');
    }
    const tags = await mote(scratch, ['tags', repo, '--cache', cache, '--offline']);
    expect(tags.code, tags.err).toBe(0);
    expect(tags.out.trim().split('\n')).toHaveLength(4);
    // The killed run's lease (renewed while it ran) lapses within DEFAULT_LEASE_MS (1 min): a restart straight away
    // sees the repository leased elsewhere and leaves it alone (it does not refresh what another may be refreshing),
    // and says so; the tags the killed run listed stay readable.
    const restart = await mote(scratch, ['warm', repo, '--cache', cache, '--once', '--json']);
    expect(restart.code, restart.err).toBe(0);
    const report = JSON.parse(restart.out.split('\n').filter((l) => l.startsWith('{"refreshed"'))[0]!) as { refreshed: string[]; leasedElsewhere: string[] };
    expect([...report.refreshed, ...report.leasedElsewhere]).toEqual([repo]);
  });

  it('held: four `mote warm --once` processes at once on one SQLite store refresh each repository once, all exit 0', async () => {
    const cache = fresh('cache');
    const repos = ['cli/a', 'cli/b', 'cli/c'].map((r) => `${registry.host}/${r}`);
    const before = (await registry.requests()).length;
    const runs = await Promise.all(Array.from({ length: 4 }, () => mote(scratch, ['warm', ...repos, '--once', '--cache', cache, '--json'])));
    for (const r of runs) expect(r.code, r.err).toBe(0);
    const s = await served(registry, before);
    expect(s.tags).toBe(3);
    expect(s.head).toBe(12);
  });
});

describe.skipIf(reason || redisUnavailableReason())('the long-running warmer and its store', () => {
  it('`mote warm --store redis://…` rides out a Redis restart: it is still running and healthy afterwards', async () => {
    let redis = await startRedis();
    const port = await freePort();
    const w = startMote(scratch, ['warm', `${registry.host}/cli/b`, '--store', redis.url, '--listen', `127.0.0.1:${port}`, '--interval', '1s', '-q']);
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text(), () => '')).includes('mote_warm_cycles_total 1'), 20_000, 'a first cycle');
      await redis.stop();
      await sleep(2500); // a cycle or two with the store down
      redis = await startRedis(redis.port);
      await sleep(2500);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, (e: Error) => e.message);
      expect({ exited: w.child.exitCode, health, stderr: w.err().trim().slice(0, 300) }).toEqual({ exited: null, health: 200, stderr: '' });
    } finally {
      w.child.kill('SIGTERM');
      await w.done;
      await redis.stop();
    }
  }, 60_000);
});

describe.skipIf(reason)('the long-running warmer', () => {
  it('a repository that does not exist is not polled in a tight loop (`mote warm --listen`, 3 s)', async () => {
    const port = await freePort();
    const before = (await registry.requests()).length;
    const w = startMote(scratch, ['warm', `${registry.host}/cli/never-pushed`, '--cache', fresh('cache'), '--listen', `127.0.0.1:${port}`, '-q']);
    await sleep(3000);
    w.child.kill('SIGTERM');
    await w.done;
    const lists = (await registry.requests()).slice(before).filter((r) => r.path === '/v2/cli/never-pushed/tags/list').length;
    expect(lists, 'tag lists of a missing repository in 3 s').toBeLessThanOrEqual(2);
  });
});
