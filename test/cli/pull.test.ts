/**
 * `mote pull` through the built CLI (dist/), against real registries, checked with umoci and skopeo.
 */
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { FaultInjectingProxy } from '../helpers/fault-proxy.js';
import { pushLayout, registryUnavailableReason, skopeo, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { which } from '../helpers/net.js';
import { makeTempDir } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'dist', 'bin', 'mote.js');
const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-cli-pull-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const sha256 = (b: Buffer | string): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const blobFile = (root: string, digest: string): string => path.join(root, 'blobs', 'sha256', digest.slice(7));

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** No cache or credential variables from the outside, a private HOME: no test can touch a real cache or login. */
function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, HOME: path.join(scratch, 'home') };
  for (const k of ['MOTE_CACHE_DIR', 'MOTE_CONFIG', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'REGISTRY_AUTH_FILE', 'DOCKER_CONFIG', 'XDG_RUNTIME_DIR']) delete e[k];
  return e;
}

/** Runs `mote args...` asynchronously (the fault proxy lives in this process and must keep serving). */
function mote(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: env(), cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

let registry: RegistryHandle;
let app: BuiltImage;
let other: BuiltImage;
let multi: BuiltImage;
let big: BuiltImage;

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  const layout = fresh('images');
  app = await makeImage(layout, { tag: 'app', layers: [{ size: 300_000 }, { size: 20_000 }] });
  other = await makeImage(layout, { tag: 'other', layers: [{ size: 50_000 }] });
  big = await makeImage(layout, { tag: 'big', layers: [{ size: 3_000_000 }, { size: 2_000_000 }, { size: 1_000_000 }] });
  multi = await makeImage(layout, {
    tag: 'multi',
    layers: [{ size: 30_000 }],
    platforms: [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ],
  });
  for (const [tag, repo] of [
    ['app', 'team/app:v1'],
    ['other', 'team/other:v1'],
    ['big', 'team/big:v1'],
    ['multi', 'team/multi:v1'],
  ] as const) {
    await pushLayout(layout, tag, registry, repo);
  }
}, 180_000);

afterAll(async () => {
  await registry?.stop();
  cleanup();
});

describe.skipIf(reason)('mote pull', () => {
  it('is listed in the help', async () => {
    const r = await mote(['pull', '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('--to <destination>');
    expect(r.out).toContain('--all-platforms');
  });

  it('gives a layout umoci validates and unpacks, and skopeo copies to another registry with the same digest', async () => {
    const cache = fresh('cache');
    const dest = fresh('layout');
    const r = await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci:${dest}`, '--cache', cache]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(app.digest);
    expect(r.out).toContain(`oci:${dest}:v1`);
    expect(r.out).toMatch(/from registry: +\d/);
    expect(r.out).toMatch(/\n {2}bytes: +\S+ \S+ referenced, \S+ \S+ unique \(4 blobs\)\n/);
    expect(r.out).not.toContain('tracker');

    expect(execFileSync('umoci', ['ls', '--layout', dest], { encoding: 'utf8' }).trim()).toBe('v1');
    const stat = JSON.parse(execFileSync('umoci', ['stat', '--json', '--image', `${dest}:v1`], { encoding: 'utf8' })) as { history: unknown[] };
    expect(stat.history).toHaveLength(2);
    const bundle = fresh('bundle');
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${dest}:v1`, bundle]);
    expect(fs.statSync(path.join(bundle, 'rootfs', 'layer0', 'data.bin')).size).toBe(300_000);
    expect(fs.statSync(path.join(bundle, 'rootfs', 'layer1', 'data.bin')).size).toBe(20_000);

    const second = await startRegistry();
    try {
      await skopeo(['--insecure-policy', 'copy', '--dest-tls-verify=false', `oci:${dest}:v1`, `docker://${second.host}/copy/app:v1`]);
      const raw = (await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${second.host}/copy/app:v1`])).stdout;
      expect(sha256(raw)).toBe(app.digest);
    } finally {
      await second.stop();
    }
  });

  it('--json prints the result; a second pull makes no blob request and reports 0 bytes from the registry', async () => {
    const cache = fresh('cache');
    const first = await mote(['pull', `${registry.host}/team/other:v1`, '--to', `oci:${fresh('layout')}`, '--cache', cache, '--json']);
    expect(first.code, first.err).toBe(0);
    const doc = JSON.parse(first.out) as Record<string, unknown>;
    expect(doc).toMatchObject({
      reference: `${registry.host}/team/other:v1`,
      digest: other.digest,
      blobs: other.blobs.length,
      bytesFromRegistry: other.totalBytes,
      bytesFromCache: 0,
      tracker: { total: other.totalBytes, deduplicated: other.totalBytes, count: other.blobs.length },
    });
    expect(first.err).toBe('');

    const gets = await registry.blobGets();
    const again = await mote(['--json', 'pull', `${registry.host}/team/other:v1`, '--to', `oci:${fresh('layout')}`, '--cache', cache]);
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ bytesFromRegistry: 0, bytesFromCache: other.totalBytes });
    expect(await registry.blobGets()).toBe(gets);
  });

  it('--platform picks a manifest, --all-platforms keeps the index, an unknown platform exits 3 naming the others', async () => {
    const cache = fresh('cache');
    const one = fresh('layout');
    const r1 = await mote(['pull', `${registry.host}/team/multi:v1`, '--to', `oci:${one}`, '--cache', cache, '--platform', 'linux/arm64', '--json']);
    expect(r1.code, r1.err).toBe(0);
    const arm64 = multi.manifests.find((m) => m.platform?.architecture === 'arm64')!;
    expect(JSON.parse(r1.out)).toMatchObject({ platform: 'linux/arm64/v8', manifests: [{ digest: arm64.digest }] });
    expect(sha256((await skopeo(['inspect', '--raw', `oci:${one}:v1`])).stdout)).toBe(arm64.digest);
    execFileSync('umoci', ['unpack', '--rootless', '--image', `${one}:v1`, fresh('bundle')]);

    const all = fresh('layout');
    const r2 = await mote(['pull', `${registry.host}/team/multi:v1`, '--to', `oci:${all}:everything`, '--cache', cache, '--all-platforms', '--json']);
    expect(r2.code, r2.err).toBe(0);
    expect(sha256((await skopeo(['inspect', '--raw', `oci:${all}:everything`])).stdout)).toBe(multi.digest);
    for (const b of multi.blobs) expect(fs.existsSync(blobFile(all, b.digest)), b.digest).toBe(true);

    const none = fresh('layout');
    const r3 = await mote(['pull', `${registry.host}/team/multi:v1`, '--to', `oci:${none}`, '--cache', cache, '--platform', 'windows/amd64']);
    expect(r3.code).toBe(3);
    expect(r3.err).toContain('ERR_PLATFORM_NOT_FOUND');
    expect(r3.err).toContain('linux/amd64');
    expect(r3.err).toContain('linux/arm64/v8');
    expect(fs.existsSync(none)).toBe(false);
  });

  it('--platform for a single-platform image of another platform pulls it with a warning (as skopeo does); a matching one says nothing', async () => {
    const cache = fresh('cache');
    const text = await mote(['pull', `${registry.host}/team/other:v1`, '--to', `oci:${fresh('layout')}`, '--cache', cache, '--platform', 'linux/arm64']);
    expect(text.code, text.err).toBe(0);
    expect(text.err).toMatch(/^mote: warning: MOTE_PLATFORM_MISMATCH: .*linux\/amd64.*linux\/arm64/m);
    const json = await mote(['pull', `${registry.host}/team/other:v1`, '--to', `oci:${fresh('layout')}`, '--cache', cache, '--platform', 'windows/amd64', '--json']);
    expect(json.code, json.err).toBe(0);
    const warnings = (JSON.parse(json.out) as { warnings: { code: string; message: string }[] }).warnings;
    expect(warnings.map((w) => w.code)).toEqual(['MOTE_PLATFORM_MISMATCH']);
    expect(warnings[0]!.message).toContain('windows/amd64');
    // stderr stays JSON lines in --json mode.
    const lines = json.err.trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { warning: { code: string } }).warning.code)).toEqual(['MOTE_PLATFORM_MISMATCH']);
    for (const platform of ['linux/amd64', 'linux/x86_64']) {
      const same = await mote(['pull', `${registry.host}/team/other:v1`, '--to', `oci:${fresh('layout')}`, '--cache', cache, '--platform', platform, '--json']);
      expect(same.code, same.err).toBe(0);
      expect(same.err).toBe('');
      expect(JSON.parse(same.out)).toMatchObject({ warnings: [] });
    }
    // Without --platform the host's platform is a default, not a request: no warning whatever the host.
    const plain = await mote(['pull', `${registry.host}/team/other:v1`, '--to', `oci:${fresh('layout')}`, '--cache', cache, '--json']);
    expect(JSON.parse(plain.out)).toMatchObject({ warnings: [] });
  });

  it('oci-archive: skopeo inspects it, and a second image added keeps the first', async () => {
    const cache = fresh('cache');
    const file = path.join(fresh('dir'), 'out.tar');
    expect((await mote(['pull', `${registry.host}/team/app:v1`, '--to', `oci-archive:${file}`, '--cache', cache])).code).toBe(0);
    expect((await mote(['pull', `${registry.host}/team/other:v1`, '--to', `oci-archive:${file}:second`, '--cache', cache])).code).toBe(0);
    const inspected = JSON.parse((await skopeo(['inspect', `oci-archive:${file}:v1`])).stdout) as { Digest: string };
    expect(inspected.Digest).toBe(app.digest);
    expect(sha256((await skopeo(['inspect', '--raw', `oci-archive:${file}:second`])).stdout)).toBe(other.digest);
  });

  it('4 processes pulling one image into one cache at once: each blob is fetched from the registry once', async () => {
    const cache = fresh('cache');
    const runs = await Promise.all(
      [0, 1, 2, 3].map((i) => mote(['pull', `${registry.host}/team/big:v1`, '--to', `oci:${fresh(`layout${i}`)}`, '--cache', cache, '--json'])),
    );
    for (const r of runs) expect(r.code, r.err).toBe(0);
    for (const b of big.blobs.filter((x) => x.digest !== big.digest)) {
      expect(await registry.blobGets(b.digest), b.digest).toBe(1);
    }
    // Together the four downloaded every blob once, plus the manifest once per process that did not find it
    // stored yet (each resolves the tag itself).
    const docs = runs.map((r) => JSON.parse(r.out) as { bytesFromRegistry: number; digest: string });
    for (const d of docs) expect(d.digest).toBe(big.digest);
    const sum = docs.reduce((s, d) => s + d.bytesFromRegistry, 0);
    const blobBytes = big.totalBytes - big.size;
    expect(sum).toBeGreaterThanOrEqual(blobBytes + big.size);
    expect(sum).toBeLessThanOrEqual(blobBytes + 4 * big.size);
  });

  it('draws progress bars on a terminal and ends with the summary', async () => {
    const hasScript = which('script') !== undefined;
    if (!hasScript) return;
    const dest = fresh('layout');
    const cmd = [process.execPath, MAIN, 'pull', `${registry.host}/team/big:v1`, '--to', `oci:${dest}`, '--cache', fresh('cache'), '--concurrency', '2']
      .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
      .join(' ');
    // script(1) runs the command on a pseudo-terminal, so stderr is a TTY as for a person at a shell.
    const r = await new Promise<Run>((resolve, reject) => {
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: env(), cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += String(d)));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, out, err: '' }));
    });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/layer {4}sha256:[0-9a-f]{12} \[/); // a bar labelled with the kind and a short digest
    expect(r.out).toMatch(/total {4}\d\/\d blobs +\[/); // the overall bar
    // each layer leaves a line once downloaded
    expect(r.out.match(/layer {4}sha256:[0-9a-f]{12} +\S+ \S+ {2}downloaded in \S+/g)?.length, r.out).toBe(3);
    expect(r.out).toContain(`pulled ${registry.host}/team/big:v1`);
    expect(fs.existsSync(path.join(dest, 'index.json'))).toBe(true);
  });

  it('stderr not a terminal (a CI log): a line per blob started and finished, the total every 5 s; nothing with --json or -q', async () => {
    const layer = app.manifests[0]!.layers[0]!;
    // The big layer trickles (~40 kB a second: about 8 s), long enough for a total line.
    const proxy = await FaultInjectingProxy.start(registry.host, (req) =>
      req.method === 'GET' && req.path.endsWith(`/blobs/${layer.digest}`) ? { trickle: { bytes: 40_000, everyMs: 1_000 } } : 'pass',
    );
    try {
      const cache = fresh('cache');
      const args = (c: string, ...more: string[]): string[] => ['pull', `${proxy.host}/team/app:v1`, '--to', `oci:${fresh('layout')}`, '--cache', c, ...more];
      const [plain, json, quiet] = await Promise.all([mote(args(cache)), mote(args(fresh('cache'), '--json')), mote(args(fresh('cache'), '-q'))]);
      for (const r of [plain, json, quiet]) expect(r.code, r.err).toBe(0);
      const lines = plain.err.trimEnd().split('\n');
      const kinds = new Map<string, string>([[app.digest, 'manifest'], [app.manifests[0]!.config.digest, 'config']]);
      for (const l of app.manifests[0]!.layers) kinds.set(l.digest, 'layer');
      expect(kinds.size).toBe(app.blobs.length);
      for (const [digest, kind] of kinds) {
        expect(lines.filter((l) => l.startsWith(`downloading ${kind} ${digest} (`)), digest).toHaveLength(1);
        expect(lines.filter((l) => new RegExp(`^downloaded  ${kind} ${digest} \\S+ \\S+ in \\S+ \\(\\S+ \\S+/s\\)$`).test(l)), digest).toHaveLength(1);
      }
      const totals = lines.filter((l) => l.startsWith('total: '));
      expect(totals.length, plain.err).toBeGreaterThanOrEqual(1);
      expect(totals.length, plain.err).toBeLessThanOrEqual(3);
      expect(totals[0]).toMatch(/^total: \S+ \S+ of \S+ \S+ \(\d+%\), \d of 4 blobs, \S+ \S+\/s, ETA \S+, \S+ elapsed$/);
      expect(lines.length).toBe(2 * kinds.size + totals.length);
      expect(plain.err).not.toContain('\x1B'); // no escape codes in a log
      // The summary gives the time taken and the throughput.
      expect(plain.out).toMatch(/\n {2}elapsed: +\d+(\.\d)?s, \S+ \S+\/s from the registry\n/);

      expect(json.err).toBe('');
      expect(JSON.parse(json.out)).toMatchObject({ digest: app.digest, elapsedMs: expect.any(Number) });
      expect((JSON.parse(json.out) as { elapsedMs: number }).elapsedMs).toBeGreaterThan(5_000);
      expect(quiet.err).toBe('');
      expect(quiet.out).toContain(`pulled ${proxy.host}/team/app:v1`);

      // Again with the same cache: every blob found there, one line each.
      const again = await mote(args(cache));
      expect(again.code, again.err).toBe(0);
      const cached = again.err.trimEnd().split('\n');
      expect(cached).toHaveLength(kinds.size);
      for (const [digest, kind] of kinds) expect(cached.filter((l) => l.startsWith(`in cache    ${kind} ${digest} `)), digest).toHaveLength(1);
      expect(again.out).toMatch(/\n {2}elapsed: +\d+(\.\d)?s\n/);
    } finally {
      await proxy.stop();
    }
  });

  it('prune --max-size 0 after a pull into a layout: the blobs the layout hard-links are kept, and prune says how many and why', async () => {
    const cache = fresh('cache');
    const dest = fresh('layout');
    expect((await mote(['pull', `${registry.host}/team/other:v1`, '--to', `oci:${dest}`, '--cache', cache])).code).toBe(0);
    const json = await mote(['prune', '--max-size', '0', '--cache', cache, '--json']);
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toEqual({
      removed: [],
      removedCount: 0,
      freedBytes: 0,
      remainingBytes: other.totalBytes,
      maxSize: 0,
      olderThanMs: null,
      linkedCount: other.blobs.length,
      linkedBytes: other.totalBytes,
    });
    const human = await mote(['prune', '--max-size', '0', '--cache', cache]);
    expect(human.code, human.err).toBe(0);
    expect(human.out.split('\n')[1]).toMatch(new RegExp(`^kept ${other.blobs.length} blobs \\(\\S+ \\S+\\) hard-linked elsewhere too \\(OCI layouts \`mote pull\` wrote`));
    // The layout gone, nothing holds them: prune removes them all, and keeps nothing for that reason.
    fs.rmSync(dest, { recursive: true });
    const after = JSON.parse((await mote(['prune', '--max-size', '0', '--cache', cache, '--json'])).out) as Record<string, unknown>;
    expect(after).toMatchObject({ removedCount: other.blobs.length, freedBytes: other.totalBytes, remainingBytes: 0, linkedCount: 0, linkedBytes: 0 });
  });

  it('unknown repository or tag: exit 3, no destination', async () => {
    for (const ref of [`${registry.host}/team/missing:v1`, `${registry.host}/team/app:missing`]) {
      const dest = fresh('layout');
      const r = await mote(['pull', ref, '--to', `oci:${dest}`, '--cache', fresh('cache')]);
      expect(r.code, r.err).toBe(3);
      expect(r.err).toContain('ERR_REGISTRY_NOT_FOUND');
      expect(fs.existsSync(dest)).toBe(false);
    }
  });

  it('usage errors exit 2: bad reference, bad destination, missing --to, bad platform', async () => {
    const cases: string[][] = [
      ['pull', 'Bad/UPPER:x', '--to', `oci:${fresh('x')}`],
      ['pull', `${registry.host}/team/app:v1`, '--to', `docker://elsewhere/x`],
      ['pull', `${registry.host}/team/app:v1`],
      ['pull', `${registry.host}/team/app:v1`, '--to', `oci:${fresh('x')}`, '--platform', 'linux'],
      ['pull', `${registry.host}/team/app:v1`, '--to', `oci:${fresh('x')}`, '--concurrency', 'many'],
    ];
    for (const args of cases) {
      const r = await mote(['--cache', fresh('cache'), ...args]);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
    }
  });

  it('a lying registry: exit 4, the bad blob not in the cache, no destination; --json error shape', async () => {
    const layer = app.manifests[0]!.layers[0]!;
    const proxy = await FaultInjectingProxy.start(registry.host, (req) =>
      req.method === 'GET' && req.path.endsWith(`/blobs/${layer.digest}`)
        ? { status: 200, headers: { 'content-type': 'application/octet-stream', 'content-length': String(layer.size) }, body: 'y'.repeat(layer.size) }
        : 'pass',
    );
    try {
      const cache = fresh('cache');
      const dest = fresh('layout');
      const r = await mote(['pull', `${proxy.host}/team/app:v1`, '--to', `oci:${dest}`, '--cache', cache, '--json']);
      expect(r.code, r.err).toBe(4);
      expect(r.out).toBe('');
      const doc = JSON.parse(r.err) as { error: { code: string; message: string } };
      expect(doc.error.code).toBe('ERR_MOTE_DIGEST_MISMATCH');
      expect(doc.error.message).toContain(layer.digest);
      expect(Object.keys(doc)).toEqual(['error']);
      expect(fs.existsSync(blobFile(cache, layer.digest))).toBe(false);
      expect(fs.existsSync(dest)).toBe(false);
    } finally {
      await proxy.stop();
    }
  });
});

describe.skipIf(reason)('mote pull from a registry with Basic auth', () => {
  let secured: RegistryHandle;
  beforeAll(async () => {
    secured = await startRegistry({ auth: 'basic' });
    const layout = fresh('images');
    await makeImage(layout, { tag: 'small', layers: [{ size: 5_000 }] });
    await pushLayout(layout, 'small', secured, 'private/small:v1');
  }, 120_000);
  afterAll(async () => secured?.stop());

  const authFile = (password: string): string => {
    const dir = fresh('auth');
    fs.mkdirSync(dir);
    const file = path.join(dir, 'auth.json');
    fs.writeFileSync(file, JSON.stringify({ auths: { [secured.host]: { auth: Buffer.from(`${secured.username}:${password}`).toString('base64') } } }));
    return file;
  };

  it('pulls with --authfile', async () => {
    const r = await mote(['pull', `${secured.host}/private/small:v1`, '--to', `oci:${fresh('layout')}`, '--cache', fresh('cache'), '--authfile', authFile(secured.password!)]);
    expect(r.code, r.err).toBe(0);
  });

  it('wrong credentials: exit 6, a clear message, no secret printed, no destination', async () => {
    const password = `wrong-${crypto.randomBytes(6).toString('hex')}`;
    const dest = fresh('layout');
    for (const json of [false, true]) {
      const r = await mote(['pull', `${secured.host}/private/small:v1`, '--to', `oci:${dest}`, '--cache', fresh('cache'), '--authfile', authFile(password), ...(json ? ['--json'] : [])]);
      expect(r.code, r.err).toBe(6);
      expect(r.err).toContain('ERR_REGISTRY_AUTH');
      expect(r.out + r.err).not.toContain(password);
      expect(r.out + r.err).not.toContain(Buffer.from(`${secured.username}:${password}`).toString('base64'));
      if (json) expect(JSON.parse(r.err)).toMatchObject({ error: { code: 'ERR_REGISTRY_AUTH' } });
      expect(fs.existsSync(dest)).toBe(false);
    }
  });

  it('no credentials at all: exit 6', async () => {
    const r = await mote(['pull', `${secured.host}/private/small:v1`, '--to', `oci:${fresh('layout')}`, '--cache', fresh('cache')]);
    expect(r.code, r.err).toBe(6);
  });
});
