/**
 * The configuration file, continued (test/cli/config.test.ts has strict reading and the first cases): where it is
 * looked for ($MOTE_CONFIG, $XDG_CONFIG_HOME), `insecure` merged with --insecure and a mirror's `insecure` against
 * a real registry reached by a name that is not loopback by name, and `maxSize` when the cache can get under it
 * (images in archives) and when hard links into `oci:` layouts keep it over (said in the output).
 */
import { spawn } from 'node:child_process';
import dns from 'node:dns/promises';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../src/registry/index.js';
import { MOTE_BIN, moteRunner, type MoteRun } from '../helpers/cli.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { pushLayout, registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-cli-config-sources-');
afterAll(() => cleanup());
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const KIB = 1024;

/** `mote args…` with HOME = `<dir>/home`, no outside variables, and `extra` on top. */
function mote(dir: string, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<MoteRun> {
  const env = { ...moteRunner(dir).env(), ...extra };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MOTE_BIN, ...args], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

/** A user directory (HOME under it) with `files` written (path relative to the directory -> content). */
function user(files: Record<string, string> = {}): string {
  const dir = fresh('user');
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  fs.mkdirSync(path.join(dir, 'home'), { recursive: true });
  return dir;
}

/** The cache directory in effect (`mote du` names it), after a `put` there. */
async function cacheInEffect(dir: string, extra: NodeJS.ProcessEnv = {}): Promise<string> {
  const file = path.join(dir, 'probe');
  fs.writeFileSync(file, 'probe');
  const r = await mote(dir, ['--json', 'put', file], extra);
  expect(r.code, r.err).toBe(0);
  return (JSON.parse((await mote(dir, ['--json', 'du'], extra)).out) as { cache: string }).cache;
}

describe('where the file is looked for', () => {
  it('$XDG_CONFIG_HOME/motecache/ when absolute; a relative $XDG_CONFIG_HOME is ignored (XDG spec): ~/.config/motecache/', async () => {
    const dir = user({
      'xdg/motecache/config.json': JSON.stringify({ cache: '../../from-xdg' }),
      'home/.config/motecache/config.yaml': 'cache: ../../../from-home\n',
    });
    // `cache` relative: to the file's directory.
    expect(await cacheInEffect(dir, { XDG_CONFIG_HOME: path.join(dir, 'xdg') })).toBe(path.join(dir, 'from-xdg'));
    expect(await cacheInEffect(dir, { XDG_CONFIG_HOME: 'xdg' })).toBe(path.join(dir, 'from-home'));
  });

  it('$MOTE_CONFIG names the file (any name): the default place is not read, not even two ambiguous files there', async () => {
    const dir = user({
      'team.yml': 'cache: ./from-env-file\n',
      'home/.config/motecache/config.yaml': 'cache: /nowhere-yaml\n',
      'home/.config/motecache/config.json': '{}',
    });
    expect((await mote(dir, ['ls'])).code).toBe(2); // the two files, without $MOTE_CONFIG
    expect(await cacheInEffect(dir, { MOTE_CONFIG: path.join(dir, 'team.yml') })).toBe(path.join(dir, 'from-env-file'));
    // A JSON file by another name is read as YAML (a superset of JSON), so it works too.
    fs.writeFileSync(path.join(dir, 'team.conf'), JSON.stringify({ cache: 'from-conf' }));
    expect(await cacheInEffect(dir, { MOTE_CONFIG: path.join(dir, 'team.conf') })).toBe(path.join(dir, 'from-conf'));
    // A bad file named by $MOTE_CONFIG is named in the error.
    fs.writeFileSync(path.join(dir, 'bad.yml'), 'maxSize: -1\n');
    const bad = await mote(dir, ['ls'], { MOTE_CONFIG: path.join(dir, 'bad.yml') });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`configuration ${path.join(dir, 'bad.yml')}: maxSize:`);
    expect(bad.err.trim().split('\n')).toHaveLength(1);
  });
});

describe.skipIf(reason)('insecure hosts and mirrors from the file, against a real registry', () => {
  let registry: RegistryHandle;
  let app: BuiltImage;
  /** The registry by this machine's name, when that resolves to 127.0.0.1 without being loopback by name. */
  let byName: string | undefined;
  beforeAll(async () => {
    registry = await startRegistry();
    const layout = fresh('images');
    app = await makeImage(layout, { tag: 'app', layers: [{ size: 10_000 }] });
    await pushLayout(layout, 'app', registry, 'team/app:v1');
    await pushLayout(layout, 'app', registry, 'hub/team/app:v1');
    const name = os.hostname();
    const addr = await dns.lookup(name).catch(() => undefined);
    if (addr?.address === '127.0.0.1' && !isLoopbackHost(name)) byName = `${name}:${registry.host.split(':')[1]}`;
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
  });

  it('insecure: the file allows plain HTTP for its hosts, and adds to --insecure (never takes a flag\'s host away)', async (ctx) => {
    if (!byName) return ctx.skip(); // needs a host name that resolves to 127.0.0.1 and is not loopback by name
    const pullArgs = (dir: string) => ['--json', 'pull', `${byName}/team/app:v1`, '--to', `oci:${path.join(dir, 'layout')}`];
    const none = user();
    const refused = await mote(none, pullArgs(none));
    expect(refused.code).toBe(7);
    expect(refused.err).toContain('ERR_REGISTRY_INSECURE');
    const listed = user({ 'home/.config/motecache/config.yaml': `insecure: [${JSON.stringify(byName)}]\n` });
    const ok = await mote(listed, pullArgs(listed));
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ digest: app.digest });
    const other = user({ 'home/.config/motecache/config.yaml': 'insecure: [elsewhere.example:5000]\n' });
    const merged = await mote(other, [...pullArgs(other), '--insecure', byName!]);
    expect(merged.code, merged.err).toBe(0);
  });

  it('a mirror marked insecure: true is reached over plain HTTP', async (ctx) => {
    if (!byName) return ctx.skip();
    const dir = user({
      'home/.config/motecache/config.yaml': [
        'registries:',
        '  registry.invalid:',
        '    mirrors:',
        `      - location: ${byName}/hub`,
        '        insecure: true',
        '',
      ].join('\n'),
    });
    const r = await mote(dir, ['--json', 'pull', 'registry.invalid/team/app:v1', '--to', `oci:${path.join(dir, 'layout')}`]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ digest: app.digest });
    const hubGets = (await registry.requests()).filter((q) => q.path.startsWith('/v2/hub/team/app/blobs/') && q.status === 200);
    expect(hubGets.length).toBeGreaterThan(0);
  });
});

describe.skipIf(reason)('maxSize, against a real registry', () => {
  let registry: RegistryHandle;
  const images: BuiltImage[] = [];
  beforeAll(async () => {
    registry = await startRegistry();
    const layout = fresh('images');
    for (const tag of ['a', 'b', 'c']) {
      const img = await makeImage(layout, { tag, layers: [{ size: 40_000 }] });
      images.push(img);
      await pushLayout(layout, tag, registry, `team/${tag}:v1`);
    }
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
  });

  it('images in archives: the cache ends at or below maxSize after each pull, least recently used first', async () => {
    const maxSize = 100 * KIB; // two of the images fit, three do not
    expect(images[0]!.totalBytes * 2).toBeLessThan(maxSize);
    expect(images.reduce((s, i) => s + i.totalBytes, 0)).toBeGreaterThan(maxSize);
    const dir = user({ 'home/.config/motecache/config.yaml': 'maxSize: 100KiB\n' });
    const cache = path.join(dir, 'home', '.cache', 'motecache');
    const results = [];
    for (const tag of ['a', 'b', 'c']) {
      const r = await mote(dir, ['--json', 'pull', `${registry.host}/team/${tag}:v1`, '--to', `oci-archive:${path.join(dir, tag)}.tar`]);
      expect(r.code, r.err).toBe(0);
      results.push(JSON.parse(r.out) as { pruned: { removedCount: number; remainingBytes: number; linkedCount: number } });
      const du = JSON.parse((await mote(dir, ['--json', 'du'])).out) as { bytes: number };
      expect(du.bytes).toBeLessThanOrEqual(maxSize);
    }
    expect(results.map((r) => r.pruned.removedCount)).toEqual([0, 0, images[0]!.blobs.length]);
    expect(results[2]!.pruned.linkedCount).toBe(0);
    const has = (img: BuiltImage) => img.blobs.every((b) => fs.existsSync(path.join(cache, 'blobs', 'sha256', b.digest.slice(7))));
    expect([has(images[0]!), has(images[1]!), has(images[2]!)]).toEqual([false, true, true]);
  });

  it('images in oci: layouts (hard links): nothing prune could free goes, and the output says what holds the cache over maxSize', async () => {
    const dir = user({ 'home/.config/motecache/config.yaml': 'maxSize: 50KiB\n' });
    for (const tag of ['a', 'b']) {
      const r = await mote(dir, ['--json', 'pull', `${registry.host}/team/${tag}:v1`, '--to', `oci:${path.join(dir, tag)}`]);
      expect(r.code, r.err).toBe(0);
    }
    const text = await mote(dir, ['pull', `${registry.host}/team/c:v1`, '--to', `oci:${path.join(dir, 'c')}`]);
    expect(text.code, text.err).toBe(0);
    const all = images.reduce((s, i) => s + i.blobs.length, 0);
    expect(text.out).toContain(`  pruned:        0 blobs, 0 B (maxSize 50 KiB in ${path.join(dir, 'home', '.config', 'motecache', 'config.yaml')})`);
    expect(text.out).toMatch(new RegExp(`\\n {2}kept, linked: +${all} blobs, .* hard-linked elsewhere`));
    // Once a layout is gone, the next pull's prune can free its blobs.
    fs.rmSync(path.join(dir, 'a'), { recursive: true });
    const again = await mote(dir, ['--json', 'pull', `${registry.host}/team/c:v1`, '--to', `oci:${path.join(dir, 'c2')}`]);
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ pruned: { removedCount: images[0]!.blobs.length, linkedCount: all - images[0]!.blobs.length } });
  });
});
