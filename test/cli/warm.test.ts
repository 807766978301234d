/**
 * `mote warm` as a process against a real registry: `--once` refreshes and reports; two warmers on one SQLite store
 * (two processes) refresh each repository once; a restart makes no request; the long-running warmer serves
 * /healthz, /metrics and /notify (a registry notification and a Docker Hub webhook are accepted, garbage is a 400
 * and the warmer lives on), and stops cleanly on SIGTERM.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client.js';
import { pushTaggedImages } from '../helpers/push-tags.js';
import { freePort } from '../helpers/net.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';
import { moteRunner } from '../helpers/cli.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-cli-warm-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const { mote, start } = moteRunner(scratch);

let registry: RegistryHandle;
const REPOS = ['team/a', 'team/b'];
const tagLists = async (before: number): Promise<number> =>
  (await registry.requests()).slice(before).filter((r) => /\/tags\/list$/.test(r.path)).length;

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  const client = new RegistryClient({ credentials: false });
  for (const r of REPOS) await pushTaggedImages(client, { registry: registry.host, repository: r }, [{ tags: ['1', '2'] }, { tags: ['3'] }]);
  await client.close();
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  cleanup();
});

describe.skipIf(reason)('mote warm (real registry)', () => {
  const repos = () => REPOS.map((r) => `${registry.host}/${r}`);

  it('--once refreshes and reports; a second run before the interval makes no request; two processes on one store refresh once', async () => {
    const cache = fresh('cache');
    let before = (await registry.requests()).length;
    const [a, b] = await Promise.all([mote(['warm', ...repos(), '--once', '--cache', cache, '--json']), mote(['warm', ...repos(), '--once', '--cache', cache, '--json'])]);
    expect(a.code, a.err).toBe(0);
    expect(b.code, b.err).toBe(0);
    const reports = [a, b].map((r) => JSON.parse(r.out.split('\n').filter((l) => l.startsWith('{"refreshed"'))[0]!) as { refreshed: string[] });
    expect([...reports[0]!.refreshed, ...reports[1]!.refreshed].sort()).toEqual(repos().sort());
    expect(await tagLists(before)).toBe(2);

    before = (await registry.requests()).length;
    const again = await mote(['warm', ...repos(), '--once', '--cache', cache]);
    expect(again.code, again.err).toBe(0);
    expect((await registry.requests()).length).toBe(before);
    const tags = await mote(['tags', repos()[0]!, '--cache', cache, '--offline']);
    expect(tags.out.trim().split('\n')).toEqual(['1', '2', '3']);
  });

  it('--repos FILE with comments; a repository that fails makes --once exit non-zero, the others refreshed', async () => {
    const file = fresh('repos.txt');
    fs.writeFileSync(file, `# ours\n${repos()[0]}\n\n${registry.host}/team/missing  # not pushed\n`);
    const r = await mote(['warm', '--repos', file, '--once', '--cache', fresh('cache')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/team\/missing/);
    expect(r.out).toMatch(/refreshed 1, failed 1/);
  });

  it('serves /healthz, /metrics and /notify; garbage is a 400; SIGTERM stops it cleanly', async () => {
    const port = await freePort();
    const cache = fresh('cache');
    const w = start(['warm', ...repos(), '--cache', cache, '--listen', `127.0.0.1:${port}`, '--interval', '1h']);
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error('warmer did not listen');
      await new Promise((r) => setTimeout(r, 50));
    }
    // The first cycle refreshes both; wait for it (the metrics say so).
    for (;;) {
      const text = await (await fetch(`${base}/metrics`)).text();
      if (/mote_warm_cycles_total 1/.test(text)) {
        expect(text).toMatch(/mote_warm_registry_requests_total\{kind="tags"\} 2/);
        expect(text).toMatch(/mote_warm_registry_response_duration_seconds_count\{host="[^"]+",method="GET",status="200"\} \d+/);
        expect(text).toMatch(/mote_metadata_store_operation_duration_seconds_count\{op="put_repository",outcome="ok"\} \d+/);
        break;
      }
      if (Date.now() > deadline) throw new Error(`no cycle: ${text.slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const before = (await registry.requests()).length;
    const envelope = { events: [{ action: 'push', target: { repository: 'team/b', url: `http://${registry.host}/v2/team/b/manifests/sha256:${'0'.repeat(64)}`, tag: '3' }, request: { host: registry.host } }] };
    const res = await fetch(`${base}/notify`, { method: 'POST', body: JSON.stringify(envelope) });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ notified: [`${registry.host}/team/b`] });
    for (;;) {
      if ((await tagLists(before)) === 1) break;
      if (Date.now() > deadline) throw new Error('notify did not refresh team/b');
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await fetch(`${base}/notify`, { method: 'POST', body: JSON.stringify({ repository: { repo_name: 'someone/else' }, push_data: { tag: 'x' } }) })).status).toBe(202);
    for (const garbage of ['not json', '[]', '{"events":"x"}', '{"hello":1}', '{"events":[{"target":{"repository":"../etc"}}]}']) {
      expect((await fetch(`${base}/notify`, { method: 'POST', body: garbage })).status, garbage).toBe(400);
    }
    expect((await fetch(`${base}/notify`, { method: 'POST', body: 'x'.repeat(2 << 20) }).then((r) => r.status, () => 413))).toBe(413);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const stoppedAt = Date.now();
    w.child.kill('SIGTERM');
    const end = await w.done;
    expect(end.code, end.err).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    // The store is consistent: a reader answers offline.
    const tags = await mote(['tags', repos()[1]!, '--cache', cache, '--offline', '--json']);
    expect(tags.code, tags.err).toBe(0);
  }, 60_000);

  it('usage errors: no repository, a bad --listen, a bad --interval, a bad --store: exit 2', async () => {
    for (const args of [['warm', '--once'], ['warm', 'x/y', '--listen', 'nope:port'], ['warm', 'x/y', '--interval', 'soon'], ['warm', 'x/y', '--once', '--store', 'ftp://x']]) {
      const r = await mote([...args, '--cache', fresh('cache')]);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
    }
  });
});
