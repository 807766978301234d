/**
 * skopeo's `docker://` prefix on every reference and repository the CLI takes (`pull`, `tags`, `inspect`, `latest`,
 * `warm` and its `--repos` file), through the built CLI against a real registry; other transports are usage errors
 * (exit 2, one line naming the transport) that send no request.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/registry/client.js';
import { pushTaggedImages, type PushedImage } from '../helpers/push-tags.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';
import { moteRunner } from '../helpers/cli.js';
import { registryArgument } from '../../src/cli/transport.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-cli-transports-');
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
    { tags: ['1.0.0'], created: '2024-01-01T00:00:00Z' },
    { tags: ['1.1.0'], created: '2024-02-01T00:00:00Z' },
  ]);
  await client.close();
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  cleanup();
});

describe('registryArgument', () => {
  it('takes docker:// off, leaves plain references and hosts with a port alone, refuses other transports', () => {
    expect(registryArgument('docker://registry.example.com/team/app:1')).toBe('registry.example.com/team/app:1');
    expect(registryArgument('docker://alpine')).toBe('alpine');
    expect(registryArgument('localhost:5000/app:dev')).toBe('localhost:5000/app:dev');
    expect(registryArgument('oci:5000/team/app')).toBe('oci:5000/team/app'); // a host named oci, port 5000
    expect(registryArgument('alpine:3.20')).toBe('alpine:3.20');
    for (const arg of ['oci:./layout:v1', 'oci-archive:app.tar', 'dir:/tmp/x', 'docker-archive:x.tar', 'docker-daemon:alpine:latest', 'containers-storage:alpine', 'docker:alpine']) {
      expect(() => registryArgument(arg), arg).toThrow(expect.objectContaining({ code: 'ERR_MOTE_USAGE' }));
    }
    expect(() => registryArgument('oci-archive:app.tar')).toThrow(/oci-archive: transport is not a registry.*--to/);
  });
});

describe.skipIf(reason)('docker:// on the CLI (real registry)', () => {
  it('pull docker://REF pulls the image as REF does', async () => {
    const dest = fresh('layout');
    const r = await mote(['pull', `docker://${repo}:1.0.0`, '--to', `oci:${dest}`, '--cache', fresh('cache'), '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ reference: `${repo}:1.0.0`, digest: pushed.get('1.0.0')!.digest });
    expect(fs.existsSync(path.join(dest, 'index.json'))).toBe(true);
  });

  it('tags, inspect, latest and warm (arguments and --repos) take docker:// and answer for the same repository', async () => {
    const cache = fresh('cache');
    const tags = await mote(['tags', `docker://${repo}`, '--cache', cache, '--json']);
    expect(tags.code, tags.err).toBe(0);
    expect(JSON.parse(tags.out)).toMatchObject({ repository: repo, tags: ['1.0.0', '1.1.0'] });
    const inspect = await mote(['inspect', `docker://${repo}:1.1.0`, '--cache', cache, '--json']);
    expect(inspect.code, inspect.err).toBe(0);
    expect(JSON.parse(inspect.out)).toMatchObject({ name: repo, tag: '1.1.0', digest: pushed.get('1.1.0')!.digest });
    const latest = await mote(['latest', `docker://${repo}`, '--semver', '*', '--cache', cache, '--json']);
    expect(latest.code, latest.err).toBe(0);
    expect(JSON.parse(latest.out)).toMatchObject({ tag: '1.1.0' });

    const warmCache = fresh('cache');
    const list = path.join(scratch, 'repos.txt');
    fs.writeFileSync(list, `# skopeo style\ndocker://${repo}\n`);
    const warm = await mote(['warm', '--once', `docker://${repo}`, '--repos', list, '--cache', warmCache, '--json']);
    expect(warm.code, warm.err).toBe(0);
    const report = JSON.parse(warm.out.split('\n').find((l) => l.startsWith('{"refreshed"'))!) as { refreshed: string[] };
    expect(report.refreshed).toEqual([repo]); // one repository, named once
    const offline = await mote(['tags', repo, '--cache', warmCache, '--offline']);
    expect(offline.code, offline.err).toBe(0);
    expect(offline.out.trim().split('\n')).toEqual(['1.0.0', '1.1.0']);
  });

  it('another transport is a usage error on every command: exit 2, one line naming it, no request', async () => {
    const cache = fresh('cache');
    const before = (await registry.requests()).length;
    const runs: Array<[string[], string]> = [
      [['pull', `oci:${fresh('src')}:v1`, '--to', `oci:${fresh('layout')}`], 'oci:'],
      [['pull', 'oci-archive:app.tar', '--to', `oci:${fresh('layout')}`], 'oci-archive:'],
      [['pull', `docker:${repo}:1.0.0`, '--to', `oci:${fresh('layout')}`], 'docker://'],
      [['tags', 'containers-storage:alpine'], 'containers-storage:'],
      [['inspect', `dir:${fresh('dir')}`], 'dir:'],
      [['latest', 'docker-daemon:alpine:latest', '--semver', '*'], 'docker-daemon:'],
      [['warm', '--once', 'docker-archive:x.tar'], 'docker-archive:'],
    ];
    for (const [args, named] of runs) {
      const r = await mote([...args, '--cache', cache]);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^mote: ERR_MOTE_USAGE: /);
      expect(r.err).toContain(named);
      const j = await mote([...args, '--cache', cache, '--json']);
      expect(j.code).toBe(2);
      expect(JSON.parse(j.err)).toMatchObject({ error: { code: 'ERR_MOTE_USAGE' } });
    }
    expect((await registry.requests()).length).toBe(before);
  });
});
