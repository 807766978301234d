/**
 * The code the docs show runs. Every ```js block of README.md and docs/*.md is a file of examples/, shown byte for
 * byte (its first line names the file); every example imports the package by its name (`motecache`, which Node
 * resolves to this package through its `exports` map), and runs here against the built package: those that need a
 * registry against a real one, with the images they expect pushed first.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../src/registry/client.js';
import { pushTaggedImages } from './helpers/push-tags.js';
import { redisUnavailableReason, startRedis } from './helpers/redis.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from './helpers/registry.js';
import { makeTempDir } from './helpers/tmp.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);
const { dir: scratch, cleanup } = makeTempDir('motecache-examples-');
let n = 0;

/** `node examples/<file>` as a user runs it, with a private HOME and no registry credentials from outside. */
async function example(file: string, env: Record<string, string> = {}): Promise<string> {
  const home = path.join(scratch, `home-${++n}`);
  fs.mkdirSync(home);
  const e: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...env };
  for (const k of ['MOTE_CACHE_DIR', 'MOTE_CONFIG', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'REGISTRY_AUTH_FILE', 'DOCKER_CONFIG', 'XDG_RUNTIME_DIR']) delete e[k];
  if (!('REDIS_URL' in env)) delete e.REDIS_URL;
  // A top-level await that never settles exits 13 with nothing said: the exit code is part of what is checked.
  const { stdout } = await run(process.execPath, [path.join('examples', file)], { cwd: root, env: e, encoding: 'utf8', timeout: 60_000 });
  return stdout;
}

const line = (out: string, tag: string): string => out.split('\n').find((l) => l.startsWith(tag)) ?? '';

/** The ```js blocks of a Markdown file, each as its text (lines between the fences, each ending in a newline). */
function jsBlocks(file: string): string[] {
  const text = fs.readFileSync(path.join(root, file), 'utf8');
  return [...text.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

const docs = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const examples = fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.mjs'));

afterAll(() => cleanup());

describe('the code in README.md and docs/', () => {
  it('every ```js block is an example file, byte for byte, naming itself on its first line', () => {
    let blocks = 0;
    for (const doc of docs) {
      for (const block of jsBlocks(doc)) {
        blocks++;
        const named = /^\/\/ (examples\/[\w.-]+\.mjs)\b/.exec(block);
        expect(named, `${doc}: a js block that is not an example file:\n${block.slice(0, 200)}`).not.toBeNull();
        const file = path.join(root, named![1]!);
        expect(fs.existsSync(file), `${doc}: ${named![1]} does not exist`).toBe(true);
        expect(block, `${doc}: the block differs from ${named![1]}`).toBe(fs.readFileSync(file, 'utf8'));
      }
    }
    expect(blocks).toBeGreaterThanOrEqual(6);
  });

  it('every example imports the package by its name, never dist/ or src/', () => {
    for (const file of examples) {
      const text = fs.readFileSync(path.join(root, 'examples', file), 'utf8');
      expect(text, file).toMatch(/from 'motecache(\/[a-z-]+)?';/);
      expect(text, file).not.toMatch(/from '\.\.?\//);
    }
  });
});

describe('examples that need nothing else', () => {
  it('quickstart.mjs (the README points to it) does what its comments say', async () => {
    const out = await example('quickstart.mjs');
    expect(line(out, 'refused')).toMatch(/true ERR_MOTE_DIGEST_MISMATCH/);
    expect(line(out, 'read')).toMatch(/^read\s+3145728 07070707$/);
    // manifest (19) + config (24) + config again: 67 in total, 43 deduplicated.
    expect(line(out, 'tracker')).toMatch(/^tracker\s+67 43$/);
    expect(line(out, 'verify')).toMatch(/checked: 3, bytes: 3145771, corrupt: \[\]/);
    expect(line(out, 'prune')).toMatch(/removed: 2, freedBytes: 3145747, remainingBytes: 24/);
  });

  it('pull-through.mjs: one download for eight readers, kept locally, a miss typed as not-found', async () => {
    const out = await example('pull-through.mjs');
    expect(line(out, 'before')).toMatch(/^before\s+false$/);
    expect(line(out, 'read')).toMatch(/^read\s+true true$/);
    expect(line(out, 'after')).toMatch(/^after\s+true 1048576$/);
    expect(line(out, 'missing')).toMatch(/^missing\s+ERR_MOTE_NOT_FOUND true$/);
  });

  it('library.mjs (README, Library): a put, a streamed layer read back whole', async () => {
    expect(await example('library.mjs')).toMatch(/^sha256:[0-9a-f]{64} sha256:[0-9a-f]{64} 1048576\n$/);
  });

  it('copy.mjs (docs/copy.md): a zstd copy from a layout, then the same copy with every variant substituted', async () => {
    const out = await example('copy.mjs');
    expect(line(out, 'first')).toBe('first 2 0 true');
    expect(line(out, 'second')).toBe('second 0 2 true');
  });

  it('blobinfo.mjs (docs/blobinfo.md): sources located, newest first; a removed mote has no store location', async () => {
    const out = await example('blobinfo.mjs');
    expect(out).toContain("[ 'ghcr.io/acme/base:1.0' ]");
    expect(out).toContain("[ 'registry.example:5000/team/app:latest', 'ghcr.io/acme/base:1.0' ]");
    expect(out.trimEnd().endsWith('[]')).toBe(true);
  });

  it('descriptor-cache.mjs (docs/descriptor-cache.md): in memory, and on a real Redis with REDIS_URL', async () => {
    expect(await example('descriptor-cache.mjs')).toContain("size: 11");
    if (redisUnavailableReason()) return;
    const redis = await startRedis();
    try {
      expect(await example('descriptor-cache.mjs', { REDIS_URL: redis.url })).toContain('size: 11');
    } finally {
      await redis.stop();
    }
  });
});

const reason = registryUnavailableReason();
describe.skipIf(reason)('examples against a real registry (REGISTRY=host:port)', () => {
  let registry: RegistryHandle;
  beforeAll(async () => {
    registry = await startRegistry();
    const client = new RegistryClient({ credentials: false });
    await pushTaggedImages(client, { registry: registry.host, repository: 'team/app' }, [
      { tags: ['1.0'] },
      { tags: ['v1.2.0'], created: '2024-03-01T00:00:00Z' },
      { tags: ['v1.10.0'], created: '2024-04-01T00:00:00Z' },
    ]);
    await client.close();
  }, 120_000);
  afterAll(async () => registry?.stop());

  it('registry-client.mjs (docs/registry.md): tags, a manifest, a ranged blob, and close() returns (it hung: exit 13)', async () => {
    const out = await example('registry-client.mjs', { REGISTRY: registry.host });
    expect(out).toMatch(/^\[ '[^\]]+' \] sha256:[0-9a-f]{64} 512\n$/);
    for (const tag of ['1.0', 'v1.2.0', 'v1.10.0']) expect(out).toContain(`'${tag}'`);
  });

  it('registry-pull-through.mjs (docs/registry.md): the layer fetched into the store and read from it', async () => {
    const out = await example('registry-pull-through.mjs', { REGISTRY: registry.host });
    expect(out).toMatch(/^sha256:[0-9a-f]{64} 1024 true\n$/);
  });

  it('serve-mirror.mjs (docs/serve.md): a manifest and a layer through createMirror, the layer then cached', async () => {
    const out = await example('serve-mirror.mjs', { REGISTRY: registry.host });
    expect(out).toMatch(/^sha256:[0-9a-f]{64} 1024 true\n$/);
  });

  it('images.mjs (docs/images.md): image facts, the latest tag by semver, a warmer cycle', async () => {
    const out = await example('images.mjs', { REGISTRY: registry.host });
    expect(out.split('\n')[0]).toMatch(/^sha256:[0-9a-f]{64} 2024-03-01T00:00:00\.000Z v1\.10\.0$/);
    expect(out).toContain('refreshed');
  });
});
