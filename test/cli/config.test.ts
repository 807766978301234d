/**
 * The configuration file (`~/.config/motecache/config.yaml|json`, or `$MOTE_CONFIG`): strict reading, precedence
 * (flag > environment > file > default), and what it sets: the cache, a default platform, a size the cache is
 * pruned to after each pull, and registry mirrors (two real registries: the mirror answers first, the registry
 * when the mirror fails).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moteRunner } from '../helpers/cli.js';
import { makeImage, TWO_PLATFORMS, type BuiltImage } from '../helpers/images.js';
import { freePort } from '../helpers/net.js';
import { pushLayout, registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-cli-config-');
afterAll(() => cleanup());
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);

/** A `mote` whose HOME holds `files` under ~/.config/motecache/ (name -> content). */
function withConfig(files: Record<string, string>) {
  const dir = fresh('user');
  const configDir = path.join(dir, 'home', '.config', 'motecache');
  fs.mkdirSync(configDir, { recursive: true });
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(configDir, name), content);
  return { dir, configDir, ...moteRunner(dir) };
}

describe('reading the file', () => {
  it.each([
    ['an unknown key', 'config.yaml', 'cahce: /tmp/x\n', 'cahce: unknown setting'],
    ['a bad size', 'config.yaml', 'maxSize: lots\n', 'maxSize: invalid size'],
    ['a bad platform', 'config.json', '{"platform": "linux"}', 'platform:'],
    ['a bad insecure host', 'config.yaml', 'insecure: ["not a host"]\n', 'insecure[0]:'],
    ['a mirror without a location', 'config.yaml', 'registries:\n  docker.io:\n    mirrors: [{}]\n', 'registries:'],
    ['not YAML at all', 'config.yaml', 'a: [1, 2\n', 'not valid YAML'],
    ['not a mapping', 'config.json', '[1]', '(top): a mapping'],
  ])('%s is a usage error (exit 2) naming the file and the key', async (_label, name, content, message) => {
    const { mote, configDir } = withConfig({ [name]: content });
    const r = await mote(['ls']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`ERR_MOTE_USAGE: configuration ${path.join(configDir, name)}: ${message}`);
  });

  it('both config.yaml and config.json: ambiguous, exit 2; MOTE_CONFIG naming a missing file: exit 2', async () => {
    const both = withConfig({ 'config.yaml': 'platform: linux/amd64\n', 'config.json': '{}' });
    const r = await both.mote(['ls']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('two configuration files');
    const none = withConfig({});
    const child = none.start(['ls']);
    expect((await child.done).code).toBe(0);
    const env = { ...none.env(), MOTE_CONFIG: path.join(scratch, 'missing.yaml') };
    const { spawnSync } = await import('node:child_process');
    const { MOTE_BIN } = await import('../helpers/cli.js');
    const missing = spawnSync(process.execPath, [MOTE_BIN, 'ls'], { env, encoding: 'utf8' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('MOTE_CONFIG names');
  });

  it('cache: the file sets it; $MOTE_CACHE_DIR and --cache come before it', async () => {
    const fromFile = fresh('cache');
    const { mote, dir, env } = withConfig({ 'config.yaml': `cache: ${fromFile}\n` });
    const file = path.join(dir, 'blob');
    fs.writeFileSync(file, 'configured');
    expect((await mote(['put', file])).code).toBe(0);
    expect(fs.readdirSync(path.join(fromFile, 'blobs', 'sha256'))).toHaveLength(1);
    const flag = fresh('cache');
    expect((await mote(['--cache', flag, 'put', file])).code).toBe(0);
    expect(fs.existsSync(path.join(flag, 'blobs'))).toBe(true);
    const { spawnSync } = await import('node:child_process');
    const { MOTE_BIN } = await import('../helpers/cli.js');
    const fromEnv = fresh('cache');
    const r = spawnSync(process.execPath, [MOTE_BIN, 'put', file], { env: { ...env(), MOTE_CACHE_DIR: fromEnv }, encoding: 'utf8', cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(fromEnv, 'blobs'))).toBe(true);
  });
});

describe.skipIf(reason)('what the file sets for pulls', () => {
  let upstream: RegistryHandle;
  let mirror: RegistryHandle;
  let app: BuiltImage;
  let multi: BuiltImage;
  let big: BuiltImage;
  beforeAll(async () => {
    [upstream, mirror] = await Promise.all([startRegistry(), startRegistry()]);
    const layout = fresh('images');
    app = await makeImage(layout, { tag: 'app', layers: [{ size: 30_000 }] });
    big = await makeImage(layout, { tag: 'big', layers: [{ size: 200_000 }] });
    multi = await makeImage(layout, {
      tag: 'multi',
      layers: [{ size: 4_000 }],
      platforms: [...TWO_PLATFORMS],
    });
    await pushLayout(layout, 'multi', upstream, 'team/multi:v1');
    await pushLayout(layout, 'big', upstream, 'team/big:v1');
    await pushLayout(layout, 'app', upstream, 'team/both:v1');
    // Only the mirror has team/app, under its path prefix `hub`.
    await pushLayout(layout, 'app', mirror, 'hub/team/app:v1');
    await pushLayout(layout, 'app', mirror, 'hub/team/both:v1');
  }, 180_000);
  afterAll(async () => {
    await Promise.all([upstream?.stop(), mirror?.stop()]);
  });

  it('platform: the default where --platform is not given', async () => {
    const { mote } = withConfig({ 'config.yaml': 'platform: linux/arm64\n' });
    const r = await mote(['--json', 'pull', `${upstream.host}/team/multi:v1`, '--to', `oci:${fresh('layout')}`]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ platform: 'linux/arm64/v8' });
    const flag = await mote(['--json', 'pull', `${upstream.host}/team/multi:v1`, '--to', `oci:${fresh('layout')}`, '--platform', 'linux/amd64']);
    expect(JSON.parse(flag.out)).toMatchObject({ platform: 'linux/amd64' });
  });

  it('maxSize: after each pull the cache is pruned back to it, least recently used first, and the result says so', async () => {
    const { mote, dir } = withConfig({ 'config.yaml': 'maxSize: 100KiB\n' });
    const cache = path.join(dir, 'home', '.cache', 'motecache');
    const first = await mote(['--json', 'pull', `${upstream.host}/team/both:v1`, '--to', `oci-archive:${fresh('a')}.tar`]);
    expect(first.code, first.err).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({ pruned: { removedCount: 0, maxSize: 100 * 1024 } });
    const second = await mote(['pull', `${upstream.host}/team/big:v1`, '--to', `oci-archive:${fresh('b')}.tar`]);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toMatch(/\n {2}pruned: +[1-9]\d* blobs?, .*maxSize 100 KiB in /);
    const du = JSON.parse((await mote(['--json', 'du'])).out) as { bytes: number };
    // The big layer alone is over the limit: what remains is at most the newest image.
    expect(du.bytes).toBeLessThanOrEqual(big.totalBytes);
    expect(fs.existsSync(path.join(cache, 'blobs', 'sha256', app.manifests[0]!.layers[0]!.digest.slice(7)))).toBe(false);
    // The image just pulled stays whole although it alone is over the size (the pull's lease holds it while pruning).
    for (const b of big.blobs) expect(fs.existsSync(path.join(cache, 'blobs', 'sha256', b.digest.slice(7))), b.digest).toBe(true);
  });

  it('registries: a mirror answers first (here it alone has the image); a mirror that is down falls back to the registry', async () => {
    const { mote } = withConfig({
      'config.yaml': `registries:\n  ${JSON.stringify(upstream.host)}:\n    mirrors:\n      - location: ${mirror.host}/hub\n`,
    });
    const r = await mote(['--json', 'pull', `${upstream.host}/team/app:v1`, '--to', `oci:${fresh('layout')}`]);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ digest: app.digest });

    const down = `127.0.0.1:${await freePort()}`;
    const fallback = withConfig({ 'config.yaml': `registries:\n  ${JSON.stringify(upstream.host)}:\n    mirrors:\n      - location: ${down}\n` });
    const f = await fallback.mote(['--debug', 'pull', `${upstream.host}/team/multi:v1`, '--to', `oci:${fresh('layout')}`, '--platform', 'linux/amd64']);
    expect(f.code, f.err).toBe(0);
    expect(f.err).toContain(`mote: debug: mirror ${down} of ${upstream.host} failed (ERR_REGISTRY_UNAVAILABLE`);
    // Found down once, passed over for the other reads of the pull (each would pay the client's retries again).
    expect(f.err.split('\n').filter((l) => l.includes(`mirror ${down} `))).toHaveLength(1);
  }, 120_000);

  it('registries: a mirror serving a blob\'s bytes wrong (its storage tampered with): the blob is read again from the registry, with a warning naming the mirror', async () => {
    const tampered = await startRegistry();
    try {
      const layout = fresh('images');
      const lie = await makeImage(layout, { tag: 'lie', layers: [{ size: 6_000 }, { size: 3_000 }] });
      await pushLayout(layout, 'lie', upstream, 'team/lie:v1');
      await pushLayout(layout, 'lie', tampered, 'hub/team/lie:v1');
      const bad = lie.manifests[0]!.layers[0]!;
      const good = lie.manifests[0]!.layers[1]!;
      const hex = bad.digest.slice('sha256:'.length);
      const data = path.join(tampered.root, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
      const bytes = fs.readFileSync(data);
      bytes[bytes.length >> 1] = 0xff - bytes[bytes.length >> 1]!;
      fs.writeFileSync(data, bytes);
      const { mote } = withConfig({ 'config.yaml': `registries:\n  ${JSON.stringify(upstream.host)}:\n    mirrors:\n      - location: ${tampered.host}/hub\n` });
      const dest = fresh('layout');
      const before = await upstream.blobGets(bad.digest);
      const r = await mote(['pull', `${upstream.host}/team/lie:v1`, '--to', `oci:${dest}`]);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toContain(`mote: warning: MOTECACHE_MIRROR_INTEGRITY: mirror ${tampered.host}/hub of ${upstream.host} served content that failed verification`);
      expect(await upstream.blobGets(bad.digest)).toBe(before + 1);
      expect(await tampered.blobGets(good.digest)).toBe(1); // what the mirror served right came from it
      expect(fs.readFileSync(path.join(dest, 'blobs', 'sha256', hex)).equals(bytes)).toBe(false);
    } finally {
      await tampered.stop();
    }
  });

  it('registries with digestOnly: a tag is the registry\'s to resolve; content by digest may come from the mirror', async () => {
    const { mote } = withConfig({
      'config.json': JSON.stringify({ registries: { [upstream.host]: { mirrors: [{ location: `${mirror.host}/hub` }], digestOnly: true } } }),
    });
    const byTag = await mote(['pull', `${upstream.host}/team/app:v1`, '--to', `oci:${fresh('layout')}`]);
    expect(byTag.code).toBe(3); // the upstream has no team/app, and the mirror is not asked for a tag
    const byDigest = await mote(['--json', 'pull', `${upstream.host}/team/app@${app.digest}`, '--to', `oci:${fresh('layout')}:v1`]);
    expect(byDigest.code, byDigest.err).toBe(0);
    expect(JSON.parse(byDigest.out)).toMatchObject({ digest: app.digest });
  });
});

describe("README's example", () => {
  it('is read as written, every key', async () => {
    const { readConfig } = await import('../../src/cli/config-file.js');
    const readme = fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Configuration'));
    const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;
    const file = path.join(fresh('readme'), 'config.yaml');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, yaml);
    const config = readConfig(file);
    expect(Object.keys(config).sort()).toEqual(['cache', 'file', 'insecure', 'maxSize', 'platform', 'registries']);
    expect(config.maxSize).toBe(20 * 1024 ** 3);
    expect(config.cache).toBe(path.join(process.env.HOME || os.homedir(), 'big-disk', 'motecache'));
    expect(config.registries?.['docker.io']?.mirrors).toHaveLength(2);
  });
});
