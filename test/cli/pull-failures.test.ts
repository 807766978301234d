/**
 * `mote pull` destinations under failure, through the built CLI (dist/) against a real registry: a real SIGINT or
 * SIGKILL sent to the child at a chosen moment of the write (seen from outside, on disk), a real small tmpfs as
 * the destination's filesystem, existing layouts and archives that are damaged. Checked with umoci, skopeo and tar.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { pushLayout, registryUnavailableReason, skopeo, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { which } from '../helpers/net.js';
import { makeTempDir } from '../helpers/tmp.js';
import { mountTmpfs, type Tmpfs } from '../helpers/tmpfs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'dist', 'bin', 'mote.js');
const reason = registryUnavailableReason();
const HAVE_TAR = which('tar') !== undefined;
const MB = 1_000_000;
const { dir: scratch, cleanup } = makeTempDir('motecache-cli-pull-failures-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const workDir = (label: string): string => {
  const d = fresh(label);
  fs.mkdirSync(d);
  return d;
};
const sha256 = (b: Buffer | string): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const blobFile = (root: string, digest: string): string => path.join(root, 'blobs', 'sha256', digest.slice(7));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  ms: number;
}

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, HOME: path.join(scratch, 'home') };
  for (const k of ['MOTE_CACHE_DIR', 'MOTE_CONFIG', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'REGISTRY_AUTH_FILE', 'DOCKER_CONFIG', 'XDG_RUNTIME_DIR']) delete e[k];
  return e;
}

const children = new Set<ChildProcess>();

/**
 * Runs `mote args...`. With `interrupt`, `probe` is polled every 2 ms while the child runs; the first time it
 * returns true the child gets `signal` (once), and `fired` records it.
 */
function mote(args: string[], interrupt?: { probe: () => boolean; signal: NodeJS.Signals }): Promise<Run & { fired: boolean }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: env(), cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    let err = '';
    let fired = false;
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const poll = interrupt
      ? setInterval(() => {
          let hit = false;
          try {
            hit = interrupt.probe();
          } catch {
            /* a file vanished between readdir and stat: look again */
          }
          if (hit && !fired) {
            fired = true;
            clearInterval(poll);
            child.kill(interrupt.signal);
          }
        }, 2)
      : undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      children.delete(child);
      clearTimeout(timer);
      if (poll) clearInterval(poll);
      resolve({ code, signal, out, err, fired, ms: Date.now() - started });
    });
  });
}

/** Everything under `dir` (type; content hash for files; link target); to compare before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${ent.name}` : ent.name;
      const p = path.join(dir, r);
      const st = fs.lstatSync(p);
      if (st.isSymbolicLink()) out[r] = `link -> ${fs.readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = 'dir';
        walk(r);
      } else out[r] = `file ${sha256(fs.readFileSync(p))}`;
    }
  };
  walk('');
  return out;
}

/** Total bytes of the regular files under `p` (a file or a directory), 0 if missing. */
function bytesUnder(p: string): number {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (st.isFile()) return st.size;
  if (!st.isDirectory()) return 0;
  let total = 0;
  for (const name of fs.readdirSync(p)) total += bytesUnder(path.join(p, name));
  return total;
}

/** Paths in `dir` (not recursive) whose names match `re`. */
function named(dir: string, re: RegExp): string[] {
  return fs.readdirSync(dir).filter((f) => re.test(f)).map((f) => path.join(dir, f));
}

/** What an unhandled stream error (or any crash) prints: never acceptable on stderr. */
function expectNoCrash(r: Run): void {
  expect(r.err).not.toMatch(/Emitted 'error' event|Unhandled|node:internal|at .*\(.*\.js:\d+:\d+\)|ERR_MOTE_FAILURE/);
  expect(r.signal).toBeNull();
}

/** Makes a dead writer's lock look as it does 31 s after its last refresh (proper-lockfile judges by mtime alone). */
function ageLock(lock: string): void {
  const past = new Date(Date.now() - 31_000);
  fs.utimesSync(lock, past, past);
}

let registry: RegistryHandle;
let app: BuiltImage;
let huge: BuiltImage;
/** A cache that already holds both images (so a pull goes straight to writing the destination). */
let warm: string;

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  const layout = fresh('images');
  app = await makeImage(layout, { tag: 'app', layers: [{ size: 300_000 }, { size: 20_000 }] });
  // Large enough that writing it takes a while (seen from outside, a signal lands in the middle).
  huge = await makeImage(layout, { tag: 'huge', layers: [{ size: 24 * MB }, { size: 24 * MB }, { size: 24 * MB }], compress: false });
  await pushLayout(layout, 'app', registry, 'team/app:v1');
  await pushLayout(layout, 'huge', registry, 'team/huge:v1');
  warm = fresh('warm-cache');
  for (const img of ['app', 'huge']) {
    const r = await mote(['pull', `${registry.host}/team/${img}:v1`, '--to', `oci:${fresh('warm-layout')}`, '--cache', warm]);
    if (r.code !== 0) throw new Error(`warming the cache failed: ${r.err}`);
  }
}, 300_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await registry?.stop();
  cleanup();
});

describe.skipIf(reason)('mote pull: SIGINT in the middle of writing the destination', () => {
  it('oci-archive, a new archive being packed: exit 130, no archive, no temporary, no lock, no crash', async () => {
    const work = workDir('sigint-archive');
    const file = path.join(work, 'out.tar');
    const r = await mote(['pull', `${registry.host}/team/huge:v1`, '--to', `oci-archive:${file}`, '--cache', warm], {
      signal: 'SIGINT',
      probe: () => named(work, /^\.out\.tar\.\d+-[0-9a-f]+\.mote-tmp$/).some((p) => bytesUnder(p) > 10 * MB),
    });
    expect(r.fired, 'the signal was sent while the archive was being written').toBe(true);
    expect(r.code, r.err).toBe(130);
    expect(r.err).toContain('ABORT_ERR');
    expectNoCrash(r);
    expect(fs.readdirSync(work)).toEqual([]);
  });

  it('oci-archive, an existing archive being extracted: exit 130, the archive byte for byte as it was', async () => {
    const work = workDir('sigint-extract');
    const file = path.join(work, 'out.tar');
    expect((await mote(['pull', `${registry.host}/team/huge:v1`, '--to', `oci-archive:${file}`, '--cache', warm])).code).toBe(0);
    const before = snapshot(work);
    const r = await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci-archive:${file}:app`, '--cache', warm], {
      signal: 'SIGINT',
      probe: () => named(work, /\.mote-extract$/).some((p) => bytesUnder(p) > 10 * MB),
    });
    expect(r.fired, 'the signal was sent while the archive was being extracted').toBe(true);
    expect(r.code, r.err).toBe(130);
    expectNoCrash(r);
    expect(snapshot(work)).toEqual(before);
    // And the archive still works.
    expect(sha256((await skopeo(['inspect', '--raw', `oci-archive:${file}:v1`])).stdout)).toBe(huge.digest);
  });

  it('oci-archive, an existing archive being rewritten (packing): exit 130, the archive as it was', async () => {
    const work = workDir('sigint-rewrite');
    const file = path.join(work, 'out.tar');
    expect((await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci-archive:${file}`, '--cache', warm])).code).toBe(0);
    const before = snapshot(work);
    const r = await mote(['pull', `${registry.host}/team/huge:v1`, '--to', `oci-archive:${file}:huge`, '--cache', warm], {
      signal: 'SIGINT',
      probe: () => named(work, /^\.out\.tar\..*\.mote-tmp$/).some((p) => bytesUnder(p) > 10 * MB),
    });
    expect(r.fired).toBe(true);
    expect(r.code, r.err).toBe(130);
    expectNoCrash(r);
    expect(snapshot(work)).toEqual(before);
  });

  it('oci:, a new layout being copied (--copy): exit 130, no layout, no temporary', async () => {
    const work = workDir('sigint-layout');
    const dest = path.join(work, 'layout');
    const r = await mote(['pull', `${registry.host}/team/huge:v1`, '--to', `oci:${dest}`, '--cache', warm, '--copy'], {
      signal: 'SIGINT',
      probe: () => named(work, /^\.layout\..*\.mote-tmp$/).some((p) => bytesUnder(p) > 10 * MB),
    });
    expect(r.fired).toBe(true);
    expect(r.code, r.err).toBe(130);
    expectNoCrash(r);
    expect(fs.readdirSync(work)).toEqual([]);
  });

  it('oci:, an existing layout being added to (--copy): exit 130, the layout as it was', async () => {
    const work = workDir('sigint-update');
    const dest = path.join(work, 'layout');
    expect((await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci:${dest}`, '--cache', warm, '--copy'])).code).toBe(0);
    const before = snapshot(work);
    const r = await mote(['pull', `${registry.host}/team/huge:v1`, '--to', `oci:${dest}:huge`, '--cache', warm, '--copy'], {
      signal: 'SIGINT',
      probe: () => bytesUnder(path.join(dest, 'blobs', 'sha256')) > 10 * MB,
    });
    expect(r.fired).toBe(true);
    expect(r.code, r.err).toBe(130);
    expectNoCrash(r);
    expect(snapshot(work)).toEqual(before);
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${dest}:v1`, fresh('bundle')], { stdio: 'pipe' });
  });
});

describe.skipIf(reason)('mote pull: the destination on a full disk (a 40 MB tmpfs)', () => {
  let mnt: Tmpfs;
  beforeAll(() => {
    mnt = mountTmpfs(fresh('mnt'), '40m');
    if (!mnt.mounted) console.warn(`disk-full CLI tests SKIPPED: ${mnt.reason}`);
  });
  afterAll(() => mnt?.unmount());
  function skipUnlessMounted(ctx: TestContext): void {
    if (!mnt.mounted) ctx.skip();
  }

  for (const kind of ['oci-archive', 'oci'] as const) {
    it(`${kind}: exit 5 naming the destination, nothing left on the disk, no crash`, async (ctx) => {
      skipUnlessMounted(ctx);
      const free = mnt.free();
      const dest = path.join(mnt.dir, kind === 'oci' ? 'layout' : 'out.tar');
      const r = await mote(['pull', `${registry.host}/team/huge:v1`, '--to', `${kind}:${dest}`, '--cache', warm]);
      expect(r.code, r.err).toBe(5);
      expect(r.err).toContain('ERR_MOTE_NO_SPACE');
      expect(r.err).toContain(dest);
      expectNoCrash(r);
      expect(fs.readdirSync(mnt.dir)).toEqual([]);
      expect(mnt.free()).toBe(free);
    });
  }

  it('oci-archive: an existing archive that cannot be extracted for lack of room: exit 5, the archive as it was', async (ctx) => {
    skipUnlessMounted(ctx);
    const file = path.join(mnt.dir, 'out.tar');
    try {
      expect((await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci-archive:${file}`, '--cache', warm])).code).toBe(0);
      // Leave less room than the archive's biggest layer.
      fs.writeFileSync(path.join(mnt.dir, 'filler'), Buffer.alloc(Math.max(0, mnt.free() - 150_000)));
      const before = snapshot(mnt.dir);
      const r = await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci-archive:${file}:again`, '--cache', warm]);
      expect(r.code, r.err).toBe(5);
      expect(r.err).toContain(file);
      expectNoCrash(r);
      expect(snapshot(mnt.dir)).toEqual(before);
    } finally {
      for (const f of fs.readdirSync(mnt.dir)) fs.rmSync(path.join(mnt.dir, f), { recursive: true, force: true });
    }
  });
});

describe.skipIf(reason)('mote pull: a writer killed with SIGKILL; the next write cleans up after it', () => {
  it('oci-archive: the temporary and the lock are left; the next pull takes the stale lock, removes the temporary, writes the archive', async () => {
    const work = workDir('kill-archive');
    const file = path.join(work, 'out.tar');
    const killed = await mote(['pull', `${registry.host}/team/huge:v1`, '--to', `oci-archive:${file}`, '--cache', warm], {
      signal: 'SIGKILL',
      probe: () => named(work, /\.mote-tmp$/).some((p) => bytesUnder(p) > 10 * MB),
    });
    expect(killed.signal).toBe('SIGKILL');
    const left = fs.readdirSync(work).sort();
    expect(left).toEqual(['out.tar.lock', expect.stringMatching(/^\.out\.tar\.\d+-[0-9a-f]{12}\.mote-tmp$/)].sort());
    ageLock(path.join(work, 'out.tar.lock'));
    const r = await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci-archive:${file}`, '--cache', warm]);
    expect(r.code, r.err).toBe(0);
    expect(fs.readdirSync(work)).toEqual(['out.tar']);
    expect(sha256((await skopeo(['inspect', '--raw', `oci-archive:${file}:v1`])).stdout)).toBe(app.digest);
  });

  it('oci-archive: killed while extracting an existing archive; the next pull removes the extraction directory', async () => {
    const work = workDir('kill-extract');
    const file = path.join(work, 'out.tar');
    expect((await mote(['pull', `${registry.host}/team/huge:v1`, '--to', `oci-archive:${file}`, '--cache', warm])).code).toBe(0);
    const killed = await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci-archive:${file}:app`, '--cache', warm], {
      signal: 'SIGKILL',
      probe: () => named(work, /\.mote-extract$/).some((p) => bytesUnder(p) > 10 * MB),
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(named(work, /\.mote-extract$/)).toHaveLength(1);
    ageLock(path.join(work, 'out.tar.lock'));
    const r = await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci-archive:${file}:app`, '--cache', warm]);
    expect(r.code, r.err).toBe(0);
    expect(fs.readdirSync(work)).toEqual(['out.tar']);
    expect(sha256((await skopeo(['inspect', '--raw', `oci-archive:${file}:app`])).stdout)).toBe(app.digest);
  });

  it('oci:, a new layout: its temporary directory and the lock are left; the next pull removes them and writes the layout', async () => {
    const work = workDir('kill-layout');
    const dest = path.join(work, 'layout');
    const killed = await mote(['pull', `${registry.host}/team/huge:v1`, '--to', `oci:${dest}`, '--cache', warm, '--copy'], {
      signal: 'SIGKILL',
      probe: () => named(work, /\.mote-tmp$/).some((p) => bytesUnder(p) > 10 * MB),
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.readdirSync(work).sort()).toEqual(['layout.lock', expect.stringMatching(/^\.layout\.\d+-[0-9a-f]{12}\.mote-tmp$/)].sort());
    ageLock(path.join(work, 'layout.lock'));
    const r = await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci:${dest}`, '--cache', warm]);
    expect(r.code, r.err).toBe(0);
    expect(fs.readdirSync(work)).toEqual(['layout']);
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${dest}:v1`, fresh('bundle')], { stdio: 'pipe' });
  });

  it('oci:, an existing layout: a blob temporary inside it is left; the next pull removes it', async () => {
    const work = workDir('kill-update');
    const dest = path.join(work, 'layout');
    expect((await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci:${dest}`, '--cache', warm])).code).toBe(0);
    const blobs = path.join(dest, 'blobs', 'sha256');
    const killed = await mote(['pull', `${registry.host}/team/huge:v1`, '--to', `oci:${dest}:huge`, '--cache', warm, '--copy'], {
      signal: 'SIGKILL',
      probe: () => named(blobs, /\.mote-tmp$/).some((p) => bytesUnder(p) > 10 * MB),
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(named(blobs, /^\.[0-9a-f]{64}\.\d+-[0-9a-f]{12}\.mote-tmp$/).length).toBeGreaterThan(0);
    expect(fs.existsSync(`${dest}.lock`)).toBe(true);
    ageLock(`${dest}.lock`);
    const r = await mote(['pull', `${registry.host}/team/huge:v1`, '--to', `oci:${dest}:huge`, '--cache', warm]);
    expect(r.code, r.err).toBe(0);
    expect(fs.readdirSync(work)).toEqual(['layout']);
    expect((fs.readdirSync(dest, { recursive: true }) as string[]).filter((f) => f.includes('mote-'))).toEqual([]);
    for (const b of huge.blobs) expect(sha256(fs.readFileSync(blobFile(dest, b.digest))), b.digest).toBe(b.digest);
    expect(execFileSync('umoci', ['ls', '--layout', dest], { encoding: 'utf8' }).split('\n').filter(Boolean).sort()).toEqual(['huge', 'v1']);
  });

  it("without help: the next pull waits for proper-lockfile's 30 s stale time, then cleans up and succeeds", async () => {
    const work = workDir('kill-wait');
    const file = path.join(work, 'out.tar');
    const killed = await mote(['pull', `${registry.host}/team/huge:v1`, '--to', `oci-archive:${file}`, '--cache', warm], {
      signal: 'SIGKILL',
      probe: () => named(work, /\.mote-tmp$/).some((p) => bytesUnder(p) > 1 * MB),
    });
    expect(killed.signal).toBe('SIGKILL');
    const r = await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci-archive:${file}`, '--cache', warm]);
    expect(r.code, r.err).toBe(0);
    expect(r.ms).toBeGreaterThan(20_000); // it did wait for the lock (30 s after the killed writer's last refresh)
    expect(fs.readdirSync(work)).toEqual(['out.tar']);
  }, 120_000);
});

describe.skipIf(reason)('mote pull into an existing destination that is damaged', () => {
  it('oci: a blob of the right size with the wrong bytes is replaced: exit 0, umoci unpacks the image', async () => {
    const dest = fresh('layout');
    expect((await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci:${dest}`, '--cache', warm, '--copy'])).code).toBe(0);
    const layer = app.manifests[0]!.layers[0]!;
    fs.chmodSync(blobFile(dest, layer.digest), 0o644);
    fs.writeFileSync(blobFile(dest, layer.digest), Buffer.alloc(layer.size, 9));
    const r = await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci:${dest}`, '--cache', warm]);
    expect(r.code, r.err).toBe(0);
    expect(sha256(fs.readFileSync(blobFile(dest, layer.digest)))).toBe(layer.digest);
    const bundle = fresh('bundle');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${dest}:v1`, bundle], { stdio: 'pipe' });
    expect(fs.statSync(path.join(bundle, 'rootfs', 'layer0', 'data.bin')).size).toBe(300_000);
  });

  it('oci: blobs/sha256 a symbolic link out of the layout: exit 2 before any download, nothing written anywhere', async () => {
    const work = workDir('symlinked');
    const dest = path.join(work, 'layout');
    const outside = path.join(work, 'outside');
    fs.mkdirSync(path.join(dest, 'blobs'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(dest, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    fs.writeFileSync(path.join(dest, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
    fs.symlinkSync(outside, path.join(dest, 'blobs', 'sha256'));
    const before = snapshot(work);
    const gets = await registry.blobGets();
    const r = await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci:${dest}`, '--cache', fresh('cache')]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain('ERR_INVALID_DESTINATION');
    expect(r.err).toContain('blobs/sha256 is a symbolic link');
    expect(await registry.blobGets()).toBe(gets);
    expect(snapshot(work)).toEqual(before);
  });

  it('oci-archive: a truncated archive is exit 2 naming it, the file untouched', async () => {
    const work = workDir('truncated');
    const whole = path.join(work, 'whole.tar');
    expect((await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci-archive:${whole}`, '--cache', warm])).code).toBe(0);
    const bytes = fs.readFileSync(whole);
    fs.rmSync(whole);
    for (const cut of [300, 5000, Math.floor(bytes.length / 2)]) {
      const file = path.join(work, `cut-${cut}.tar`);
      fs.writeFileSync(file, bytes.subarray(0, cut));
      const r = await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci-archive:${file}`, '--cache', warm, '--json']);
      expect(r.code, `cut at ${cut}: ${r.err}`).toBe(2);
      const doc = JSON.parse(r.err) as { error: { code: string; message: string } };
      expect(doc.error.code).toBe('ERR_INVALID_DESTINATION');
      expect(doc.error.message).toContain(file);
      expect(fs.readFileSync(file)).toEqual(bytes.subarray(0, cut));
    }
    expect(fs.readdirSync(work).filter((f) => !f.startsWith('cut-'))).toEqual([]);
  });

  it('oci-archive: a gzip file is exit 2 before any download', async () => {
    const work = workDir('gzip');
    const file = path.join(work, 'image.tar.gz');
    fs.writeFileSync(file, execFileSync('gzip', ['-c'], { input: Buffer.alloc(4096, 1) }));
    const gets = await registry.blobGets();
    const r = await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci-archive:${file}`, '--cache', fresh('cache')]);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toContain('gzip');
    expect(await registry.blobGets()).toBe(gets);
  });

  it("oci-archive: the archive's own files (not part of the layout) are kept when an image is added", async () => {
    if (!HAVE_TAR) return;
    const work = workDir('extras');
    const file = path.join(work, 'out.tar');
    expect((await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci-archive:${file}`, '--cache', warm])).code).toBe(0);
    // Add files with GNU tar, as a user would.
    const extra = workDir('extra-files');
    fs.mkdirSync(path.join(extra, 'docs'));
    fs.writeFileSync(path.join(extra, 'README.md'), '# images\n');
    fs.writeFileSync(path.join(extra, 'docs', 'SBOM.json'), '{"sbom":true}\n');
    fs.symlinkSync('docs/SBOM.json', path.join(extra, 'sbom'));
    execFileSync('tar', ['-rf', file, '-C', extra, 'README.md', 'docs', 'sbom']);
    const r = await mote(['pull', `${registry.host}/team/huge:v1`, '--to', `oci-archive:${file}:huge`, '--cache', warm]);
    expect(r.code, r.err).toBe(0);
    const listed = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' });
    expect(listed).toMatch(/README\.md/);
    expect(listed).toMatch(/docs\/SBOM\.json/);
    expect(listed).toMatch(/sbom -> docs\/SBOM\.json/);
    const out = workDir('untar');
    execFileSync('tar', ['-xf', file, '-C', out, 'README.md', 'docs/SBOM.json']);
    expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toBe('# images\n');
    expect(fs.readFileSync(path.join(out, 'docs', 'SBOM.json'), 'utf8')).toBe('{"sbom":true}\n');
    expect(sha256((await skopeo(['inspect', '--raw', `oci-archive:${file}:v1`])).stdout)).toBe(app.digest);
    expect(sha256((await skopeo(['inspect', '--raw', `oci-archive:${file}:huge`])).stdout)).toBe(huge.digest);
  }, 120_000);
});
