import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALGORITHMS, CommitMode, FileMoteCache, digestOf, type DigestAlgorithm } from '../../src/index.js';
import { which } from '../helpers/net.js';
import { makeTempDir, randomData, readAll, temporaries } from '../helpers/tmp.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURE = path.join(REPO, 'fixtures', 'oci-layout');
const DIST = path.join(REPO, 'dist', 'index.js');
const ALGS = Object.keys(ALGORITHMS) as DigestAlgorithm[];
const CACHEDIR_SIGNATURE = 'Signature: 8a477f597d28d172789f06886806bc55'; // https://bford.info/cachedir/
const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
const execFileAsync = promisify(execFile);

let scratch: { dir: string; cleanup: () => void };
const opened: FileMoteCache[] = [];
function open(root: string, options: ConstructorParameters<typeof FileMoteCache>[1] = {}): FileMoteCache {
  const c = new FileMoteCache(root, { durable: false, ...options });
  opened.push(c);
  return c;
}
beforeEach(() => {
  scratch = makeTempDir('mote-layout-');
});
afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
  scratch.cleanup();
});

const readJson = (p: string): unknown => JSON.parse(fs.readFileSync(p, 'utf8'));
const sha256Hex = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Every name under blobs/: each must be `<alg>/<encoded>` of a regular file whose content hashes to its name. */
function assertBlobsClean(root: string): string[] {
  const blobs = path.join(root, 'blobs');
  expect(fs.readdirSync(blobs).sort()).toEqual([...ALGS].sort());
  const digests: string[] = [];
  for (const alg of ALGS) {
    for (const name of fs.readdirSync(path.join(blobs, alg))) {
      const p = path.join(blobs, alg, name);
      expect(name, p).toMatch(new RegExp(`^[0-9a-f]{${ALGORITHMS[alg].hexLength}}$`));
      expect(fs.lstatSync(p).isFile(), p).toBe(true);
      expect(digestOf(fs.readFileSync(p), alg), p).toBe(`${alg}:${name}`);
      digests.push(`${alg}:${name}`);
    }
  }
  return digests;
}

describe('a root that cannot hold a cache', () => {
  // Run in a child (the built package) with a time limit: the bug was a synchronous endless loop (Node's recursive
  // mkdir where mkdir() answers ENOENT under an existing parent), which would hang this test worker for good.
  const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
  const tryRoot = (root: string): { status: number | null; out: string; ms: number } => {
    const script = `import(${JSON.stringify(DIST)}).then(async ({ FileMoteCache, digestOf }) => {
      const c = new FileMoteCache(${JSON.stringify(root)});
      const out = [];
      for (const op of [() => c.initialize(), () => c.get(digestOf('x')), () => c.put(Buffer.from('x')), () => c.stats()]) {
        out.push(await op().then(() => 'ok', (e) => e.name + ' ' + e.code + ' ' + e.category));
      }
      console.log(JSON.stringify(out));
    })`;
    const started = Date.now();
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    return { status: r.status, out: r.stdout.trim(), ms: Date.now() - started };
  };

  for (const [what, root] of [
    ['procfs (/proc/self)', '/proc/self'],
    ['procfs (/proc/self/fd)', '/proc/self/fd'],
    ['a path through a regular file', '/dev/null/cache'],
  ] as const) {
    it(`${what}: every operation fails fast with InvalidArgumentError`, () => {
      const r = tryRoot(root);
      expect(r.status, `${r.out} (after ${r.ms} ms)`).toBe(0);
      expect(JSON.parse(r.out)).toEqual(Array(4).fill('InvalidArgumentError ERR_MOTE_INVALID_ARGUMENT invalid'));
    });
  }
});

describe('a fresh FileMoteCache root', () => {
  it('is not touched by the constructor, and is created by initialize()', async () => {
    const root = path.join(scratch.dir, 'cache');
    const c = open(root);
    expect(c.root).toBe(root);
    expect(fs.existsSync(root)).toBe(false);
    await c.initialize();
    expect(fs.readdirSync(root).sort()).toEqual(['.mote', 'CACHEDIR.TAG', 'blobs', 'index.json', 'oci-layout']);
    for (const alg of ALGS) expect(fs.readdirSync(path.join(root, 'blobs', alg))).toEqual([]);
    expect(temporaries(root)).toEqual([]);
  });

  it('is also created by the first operation without initialize()', async () => {
    const root = path.join(scratch.dir, 'lazy');
    const c = open(root);
    expect(await c.moteExists(digestOf('nothing'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'oci-layout'))).toBe(true);
    expect(fs.existsSync(path.join(root, 'index.json'))).toBe(true);
  });

  it('has oci-layout {"imageLayoutVersion":"1.0.0"}', async () => {
    const c = open(path.join(scratch.dir, 'cache'));
    await c.initialize();
    expect(readJson(path.join(c.root, 'oci-layout'))).toEqual({ imageLayoutVersion: '1.0.0' });
  });

  it('has a valid empty image index in index.json', async () => {
    const c = open(path.join(scratch.dir, 'cache'));
    await c.initialize();
    const index = readJson(path.join(c.root, 'index.json')) as Record<string, unknown>;
    expect(index.schemaVersion).toBe(2);
    expect(index.manifests).toEqual([]);
    // mediaType is optional in an index, but if present it must be the index media type.
    if ('mediaType' in index) expect(index.mediaType).toBe(INDEX_MEDIA_TYPE);
  });

  it('has a CACHEDIR.TAG that starts with the standard signature', async () => {
    const c = open(path.join(scratch.dir, 'cache'));
    await c.initialize();
    const tag = fs.readFileSync(path.join(c.root, 'CACHEDIR.TAG'));
    // The spec: the file must begin with exactly these 43 bytes.
    expect(tag.subarray(0, 43).toString('latin1')).toBe(CACHEDIR_SIGNATURE);
    expect(tag.toString('utf8').split('\n')[0]).toBe(CACHEDIR_SIGNATURE);
  });

  it('writes the layout files owner-writable (index.json is the user\'s to fill), through .mote/tmp', async () => {
    const c = open(path.join(scratch.dir, 'cache'));
    await c.initialize();
    for (const name of ['oci-layout', 'index.json', 'CACHEDIR.TAG']) {
      const mode = fs.statSync(path.join(c.root, name)).mode & 0o777;
      expect(mode & 0o200, `${name}: mode ${mode.toString(8)}`).toBe(0o200);
    }
    // The temporaries used to create them are gone, and were never in the root.
    expect(fs.readdirSync(c.root).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(temporaries(c.root)).toEqual([]);
  });

  it('initialize() is idempotent, across calls and instances, and rewrites nothing', async () => {
    const root = path.join(scratch.dir, 'cache');
    const a = open(root);
    await a.initialize();
    const files = ['oci-layout', 'index.json', 'CACHEDIR.TAG'];
    const before = files.map((f) => {
      const st = fs.statSync(path.join(root, f));
      return { f, ino: st.ino, mtimeMs: st.mtimeMs, data: fs.readFileSync(path.join(root, f), 'utf8') };
    });
    const d = (await a.put(Buffer.from('kept across initialize'))).digest;
    await a.initialize();
    await a.initialize();
    await open(root).initialize();
    await open(root, { durable: true }).initialize();
    const after = files.map((f) => {
      const st = fs.statSync(path.join(root, f));
      return { f, ino: st.ino, mtimeMs: st.mtimeMs, data: fs.readFileSync(path.join(root, f), 'utf8') };
    });
    expect(after).toEqual(before);
    expect(fs.readdirSync(root).sort()).toEqual(['.mote', 'CACHEDIR.TAG', 'blobs', 'index.json', 'oci-layout']);
    expect((await open(root).get(d)).toString()).toBe('kept across initialize');
  });

  it('does not clobber an index.json (or oci-layout) a user wrote, before or after the first initialize()', async () => {
    const fixtureIndex = fs.readFileSync(path.join(FIXTURE, 'index.json'), 'utf8');
    // Before: a directory that already holds a user's index.json becomes a cache around it.
    const pre = path.join(scratch.dir, 'pre');
    fs.mkdirSync(pre);
    fs.writeFileSync(path.join(pre, 'index.json'), fixtureIndex);
    fs.writeFileSync(path.join(pre, 'oci-layout'), '{"imageLayoutVersion":"1.0.0","x-user":true}');
    await open(pre).initialize();
    expect(fs.readFileSync(path.join(pre, 'index.json'), 'utf8')).toBe(fixtureIndex);
    expect(readJson(path.join(pre, 'oci-layout'))).toEqual({ imageLayoutVersion: '1.0.0', 'x-user': true });
    expect(fs.readFileSync(path.join(pre, 'CACHEDIR.TAG'), 'latin1').startsWith(CACHEDIR_SIGNATURE)).toBe(true);

    // After: a user (or umoci/skopeo) rewrites index.json; a restart must keep it.
    const post = path.join(scratch.dir, 'post');
    await open(post).initialize();
    fs.rmSync(path.join(post, 'index.json')); // replace, as tools do (the original may be read-only)
    fs.writeFileSync(path.join(post, 'index.json'), fixtureIndex);
    const again = open(post);
    await again.initialize();
    await again.put(Buffer.from('a write after the restart'));
    await again.verify();
    await again.prune(0);
    expect(fs.readFileSync(path.join(post, 'index.json'), 'utf8')).toBe(fixtureIndex);
  });

  it('is initialized safely by several processes at once', async () => {
    const root = path.join(scratch.dir, 'race');
    const script = `import { FileMoteCache } from ${JSON.stringify(DIST)};
      const c = new FileMoteCache(process.argv[1]); await c.initialize();
      await c.put(Buffer.from('same bytes from every process')); await c.close(); console.log('ok');`;
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => execFileAsync(process.execPath, ['--input-type=module', '-e', script, root], { encoding: 'utf8' })),
    );
    for (const r of runs) expect(r.stdout.trim()).toBe('ok');
    expect(fs.readdirSync(root).sort()).toEqual(['.mote', 'CACHEDIR.TAG', 'blobs', 'index.json', 'oci-layout']);
    expect(readJson(path.join(root, 'oci-layout'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect((readJson(path.join(root, 'index.json')) as { manifests: unknown[] }).manifests).toEqual([]);
    expect(assertBlobsClean(root)).toEqual([digestOf('same bytes from every process')]);
    expect(temporaries(root)).toEqual([]);
  });
});

describe('temporaries', () => {
  it('a write in progress lives in .mote/tmp, never in blobs/', async () => {
    const c = open(path.join(scratch.dir, 'cache'));
    await c.initialize();
    const data = randomData(200_000);
    const d = digestOf(data);
    await c.createMote(d, 'application/x-test', data.length);
    const w = await c.moteWriter(d);
    await new Promise<void>((resolve, reject) => w.write(data.subarray(0, 100_000), (err) => (err ? reject(err) : resolve())));
    const tmp = temporaries(c.root);
    expect(tmp).toHaveLength(1);
    expect(tmp[0]).toMatch(/\.ingest$/);
    expect(fs.statSync(path.join(c.root, '.mote', 'tmp', tmp[0]!)).size).toBe(100_000);
    expect(assertBlobsClean(c.root)).toEqual([]);
    expect(fs.existsSync(c.moteRef(d))).toBe(false);
    await pipeline(Readable.from([data.subarray(100_000)]), w);
    expect(temporaries(c.root)).toEqual([]);
    expect(assertBlobsClean(c.root)).toEqual([d]);
  });

  it('a read link lives in .mote/tmp, shares the blob inode, and is gone after the read', async () => {
    const c = open(path.join(scratch.dir, 'cache'));
    const data = randomData(3 << 20);
    const { digest } = await c.put(data);
    const r = await c.moteReader(digest);
    const tmp = temporaries(c.root);
    expect(tmp).toHaveLength(1);
    expect(tmp[0]).toMatch(/\.read$/);
    expect(fs.statSync(path.join(c.root, '.mote', 'tmp', tmp[0]!)).ino).toBe(fs.statSync(c.moteRef(digest)).ino);
    expect(assertBlobsClean(c.root)).toEqual([digest]);
    expect((await readAll(r)).equals(data)).toBe(true);
    expect(temporaries(c.root)).toEqual([]);
  });

  it('a small mote is read whole when its reader opens: no read link, and removing it then changes nothing', async () => {
    const c = open(path.join(scratch.dir, 'cache'));
    for (const size of [0, 4096, 256 << 10]) {
      const data = randomData(size);
      const { digest } = await c.put(data);
      const r = await c.moteReader(digest);
      expect(temporaries(c.root)).toEqual([]);
      await c.removeMote(digest);
      expect((await readAll(r)).equals(data)).toBe(true);
      await expect(c.moteReader(digest)).rejects.toMatchObject({ code: 'ERR_MOTE_NOT_FOUND' });
    }
    // One byte more is streamed through a read link, as above.
    const { digest } = await c.put(randomData((256 << 10) + 1));
    const r = await c.moteReader(digest);
    expect(temporaries(c.root)).toHaveLength(1);
    await readAll(r);
    expect(temporaries(c.root)).toEqual([]);
  });

  it('blobs/ holds only verified, correctly named motes after a mix of operations (every algorithm)', async () => {
    const root = path.join(scratch.dir, 'cache');
    const fallback = open(path.join(scratch.dir, 'fallback'));
    const c = open(root, { fallback, populateFromFallback: true });
    const expected: string[] = [];
    for (const alg of ALGS) {
      const small = randomData(1000);
      expected.push((await c.put(small, { digest: digestOf(small, alg) })).digest);
      const big = randomData(300_000);
      expected.push((await c.put(Readable.from([big.subarray(0, 1000), big.subarray(1000)]), { digest: digestOf(big, alg) })).digest);
      const src = path.join(scratch.dir, `src-${alg}`);
      const file = randomData(5000);
      fs.writeFileSync(src, file);
      await c.commitMote(src, { digest: digestOf(file, alg), size: file.length, mediaType: '' }, CommitMode.Move);
      expected.push(digestOf(file, alg));
      const remote = randomData(4000);
      const rd = (await fallback.put(remote, { digest: digestOf(remote, alg) })).digest;
      expect((await readAll(await c.moteReader(rd))).equals(remote)).toBe(true);
      expected.push(rd);
    }
    // Failed writes leave nothing behind either.
    const good = randomData(500);
    await expect(c.put(randomData(500), { digest: digestOf(good) })).rejects.toMatchObject({ code: 'ERR_MOTE_DIGEST_MISMATCH' });
    await expect(c.put(Readable.from([randomData(500)]), { digest: digestOf(good, 'blake3') })).rejects.toMatchObject({
      code: 'ERR_MOTE_DIGEST_MISMATCH',
    });
    expect(assertBlobsClean(root).sort()).toEqual(expected.sort());
    expect(temporaries(root)).toEqual([]);
  });
});

describe('published blobs are read-only', () => {
  it('whichever way they were written, for every algorithm', async () => {
    const fallback = open(path.join(scratch.dir, 'fallback'));
    const c = open(path.join(scratch.dir, 'cache'), { fallback, populateFromFallback: true, durable: true });
    const digests: Array<[string, string]> = [];
    for (const alg of ALGS) {
      const a = randomData(100);
      digests.push(['put(buffer)', (await c.put(a, { digest: digestOf(a, alg) })).digest]);
      const b = randomData(100_000);
      digests.push(['put(stream)', (await c.put(Readable.from([b]), { digest: digestOf(b, alg) })).digest]);
      const e = randomData(10_000);
      const ed = digestOf(e, alg);
      await c.createMote(ed, 'x/y', e.length);
      await pipeline(Readable.from([e]), await c.moteWriter(ed));
      digests.push(['moteWriter', ed]);
      const f = randomData(10_000);
      const src = path.join(scratch.dir, `f-${alg}`);
      fs.writeFileSync(src, f, { mode: 0o666 });
      await c.commitMote(src, { digest: digestOf(f, alg), size: f.length, mediaType: 'x/y' }, CommitMode.Move);
      digests.push(['commitMote(move)', digestOf(f, alg)]);
      const g = randomData(10_000);
      const gd = (await fallback.put(g, { digest: digestOf(g, alg) })).digest;
      await readAll(await c.moteReader(gd));
      digests.push(['populateFromFallback', gd]);
    }
    for (const [how, d] of digests) {
      const st = fs.statSync(c.moteRef(d));
      expect(st.isFile(), `${how} ${d}`).toBe(true);
      expect(st.mode & 0o222, `${how} ${d}: mode ${(st.mode & 0o777).toString(8)}`).toBe(0);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Interop with real OCI tools: the cache root must be an image layout that umoci and skopeo can read.

const haveUmoci = which('umoci') !== undefined;
const haveSkopeo = which('skopeo') !== undefined;
if (!haveUmoci) console.warn('store/paths.test: umoci is not installed, skipping the umoci interop tests (apt-get install umoci)');
if (!haveSkopeo) console.warn('store/paths.test: skopeo is not installed, skipping the skopeo interop tests (apt-get install skopeo)');

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}
const fixtureIndex = readJson(path.join(FIXTURE, 'index.json')) as { manifests: Descriptor[] };
const fixtureBlob = (digest: string): Buffer => fs.readFileSync(path.join(FIXTURE, 'blobs', ...digest.split(':')));
const tags = new Map(fixtureIndex.manifests.map((d) => [d.annotations!['org.opencontainers.image.ref.name']!, d]));

/** Every fixture blob put into a fresh cache (with media types from the descriptors), then the fixture's index. */
async function cacheWithFixture(root: string): Promise<FileMoteCache> {
  const c = open(root);
  await c.initialize();
  const mediaTypes = new Map<string, string>();
  for (const m of fixtureIndex.manifests) {
    mediaTypes.set(m.digest, m.mediaType);
    const manifest = JSON.parse(fixtureBlob(m.digest).toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    for (const d of [manifest.config, ...manifest.layers]) mediaTypes.set(d.digest, d.mediaType);
  }
  const names = fs.readdirSync(path.join(FIXTURE, 'blobs', 'sha256'));
  expect(names.length).toBeGreaterThan(0);
  for (const name of names) {
    const digest = `sha256:${name}`;
    const data = fixtureBlob(digest);
    const mediaType = mediaTypes.get(digest);
    expect(await c.put(data, { digest, size: data.length, ...(mediaType ? { mediaType } : {}) })).toMatchObject({ digest, size: data.length });
  }
  // Motes of the other algorithms sit next to the image: the tools must not mind blobs/sha512 and blobs/blake3.
  await c.put(Buffer.from('not part of any image'), { digest: digestOf('not part of any image', 'blake3') });
  await c.put(Buffer.from('nor this one'), { digest: digestOf('nor this one', 'sha512') });
  // Replace, not write through: tools replace index.json, and motecache may have created it read-only.
  fs.rmSync(path.join(root, 'index.json'));
  fs.copyFileSync(path.join(FIXTURE, 'index.json'), path.join(root, 'index.json'));
  return c;
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
}
function runRaw(cmd: string, args: string[]): Buffer {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
}

describe('interop with umoci and skopeo', () => {
  it('the fixture was ingested with its media types', async () => {
    const c = await cacheWithFixture(path.join(scratch.dir, 'cache'));
    for (const d of tags.values()) expect(await c.find(d.digest)).toEqual({ digest: d.digest, size: d.size, mediaType: d.mediaType });
  });

  it.skipIf(!haveUmoci)('umoci ls lists no tags in a fresh cache', async () => {
    const c = open(path.join(scratch.dir, 'cache'));
    await c.initialize();
    expect(run('umoci', ['ls', '--layout', c.root]).trim()).toBe('');
  });

  it.skipIf(!haveUmoci)('umoci ls lists the fixture tags, and umoci stat reads the manifest and config through the cache', async () => {
    const c = await cacheWithFixture(path.join(scratch.dir, 'cache'));
    const listed = run('umoci', ['ls', '--layout', c.root]).split('\n').filter(Boolean).sort();
    expect(listed).toEqual([...tags.keys()].sort());
    for (const [tag, desc] of tags) {
      const manifest = JSON.parse(fixtureBlob(desc.digest).toString('utf8')) as { layers: Descriptor[] };
      // (umoci 0.4.7's plain-text stat crashes on configs without `created`; --json does not.)
      const stat = JSON.parse(run('umoci', ['stat', '--image', `${c.root}:${tag}`, '--json'])) as {
        history: Array<{ layer?: Descriptor }>;
      };
      expect(stat.history.map((h) => h.layer?.digest)).toEqual(manifest.layers.map((l) => l.digest));
    }
  });

  it.skipIf(!haveSkopeo)('skopeo inspect reads each tag: the raw manifest is the fixture manifest, byte for byte', async () => {
    const c = await cacheWithFixture(path.join(scratch.dir, 'cache'));
    for (const [tag, desc] of tags) {
      const raw = runRaw('skopeo', ['inspect', '--raw', `oci:${c.root}:${tag}`]);
      expect(`sha256:${sha256Hex(raw)}`, tag).toBe(desc.digest);
      expect(raw.equals(fixtureBlob(desc.digest))).toBe(true);
      const manifest = JSON.parse(raw.toString('utf8')) as { layers: Descriptor[] };
      const info = JSON.parse(run('skopeo', ['inspect', `oci:${c.root}:${tag}`])) as {
        Digest: string;
        Layers: string[];
        Architecture: string;
        Os: string;
      };
      expect(info.Digest).toBe(desc.digest);
      expect(info.Layers).toEqual(manifest.layers.map((l) => l.digest));
      expect([info.Os, info.Architecture]).toEqual(['linux', 'amd64']);
    }
  });

  it.skipIf(!haveSkopeo)('skopeo copy from the cache to another layout keeps the manifest digest and the blobs', async () => {
    const c = await cacheWithFixture(path.join(scratch.dir, 'cache'));
    const other = path.join(scratch.dir, 'other');
    for (const tag of tags.keys()) run('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${c.root}:${tag}`, `oci:${other}:${tag}`]);
    const copied = readJson(path.join(other, 'index.json')) as { manifests: Descriptor[] };
    const copiedTags = new Map(copied.manifests.map((d) => [d.annotations?.['org.opencontainers.image.ref.name'], d.digest]));
    for (const [tag, desc] of tags) expect(copiedTags.get(tag), tag).toBe(desc.digest);
    for (const name of fs.readdirSync(path.join(other, 'blobs', 'sha256'))) {
      const data = fs.readFileSync(path.join(other, 'blobs', 'sha256', name));
      expect(sha256Hex(data)).toBe(name);
      expect((await c.get(`sha256:${name}`)).equals(data)).toBe(true);
    }
  });

  it.skipIf(!haveSkopeo)('blobs that skopeo copies into a cache root are motes motecache can read and verify', async () => {
    const c = open(path.join(scratch.dir, 'cache'));
    await c.initialize();
    run('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${FIXTURE}:alpha`, `oci:${c.root}:alpha`]);
    const alpha = tags.get('alpha')!;
    expect(await c.find(alpha.digest)).toMatchObject({ digest: alpha.digest, size: alpha.size });
    expect((await readAll(await c.moteReader(alpha.digest))).equals(fixtureBlob(alpha.digest))).toBe(true);
    const written = assertBlobsClean(c.root);
    expect(written).toContain(alpha.digest);
    const result = await c.verify();
    expect(result.corrupt).toEqual([]);
    expect(result.checked).toBe(written.length);
    expect((await c.stats()).count).toBe(written.length);
  });
});
