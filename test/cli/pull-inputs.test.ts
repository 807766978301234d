/**
 * `mote pull` (the built CLI, as child processes) with inputs it cannot use and registries that misbehave, against a
 * real registry; the FaultInjectingProxy (a hand-written fake) stands in front of it for what a real registry cannot
 * be made to do (an unusable challenge, a trickled body, a lie) and counts the requests that reached it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultInjectingProxy } from '../helpers/fault-proxy.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { pushLayout, registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = path.join(ROOT, 'dist', 'bin', 'mote.js');
const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-cli-inputs-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);

interface Run {
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

/** No cache or credential variables from the outside, a private HOME: no test can touch a real cache or login. */
function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, HOME: path.join(scratch, 'home') };
  for (const k of ['MOTE_CACHE_DIR', 'MOTE_CONFIG', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'REGISTRY_AUTH_FILE', 'DOCKER_CONFIG', 'XDG_RUNTIME_DIR']) delete e[k];
  return e;
}

/** Runs `mote args...` asynchronously (the fault proxy lives in this process and must keep serving). */
function mote(args: string[]): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: env(), cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, ms: Date.now() - started });
    });
  });
}

const authFileWith = (host: string): string => {
  const file = path.join(fresh('auth'), 'auth.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ auths: { [host]: { auth: Buffer.from('me:secret').toString('base64') } } }));
  return file;
};

let registry: RegistryHandle;
let proxy: FaultInjectingProxy;
let app: BuiltImage;

beforeAll(async () => {
  if (reason) return;
  registry = await startRegistry();
  const layout = fresh('images');
  app = await makeImage(layout, { tag: 'app', layers: [{ size: 200_000 }, { size: 10_000 }] });
  await pushLayout(layout, 'app', registry, 'team/app:v1');
  proxy = await FaultInjectingProxy.start(registry.host);
}, 180_000);

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  cleanup();
});

describe('mote pull: a reference the grammar refuses is a usage error before any request', () => {
  it('impossible ports and addresses: exit 2, ERR_INVALID_REFERENCE saying what is wrong, no retry', async () => {
    for (const [ref, says] of [
      ['localhost:99999/x:v1', 'port 99999'],
      ['localhost:0/x:v1', 'port 0'],
      ['127.0.0.1:65536/x', 'port 65536'],
      ['[1::2::3]:5000/x', 'not an IPv6 address'],
      ['999.1.1.1:5000/x', 'not a valid host'],
    ] as const) {
      const cache = fresh('cache');
      const r = await mote(['pull', ref, '--to', `oci:${fresh('layout')}`, '--cache', cache]);
      expect(r.code, `${ref}: ${r.err}`).toBe(2);
      expect(r.err).toContain('ERR_INVALID_REFERENCE');
      expect(r.err).toContain(says);
      expect(fs.existsSync(cache)).toBe(false);
    }
  });
});

describe.skipIf(reason)('mote pull: an explicit --authfile that cannot be used', () => {
  it('missing, malformed, a directory or empty: exit 2 before any request, no cache, no destination', async () => {
    const dir = fresh('auth');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'bad.json'), '{"auths": {"x": ');
    proxy.requests.length = 0;
    for (const [file, says] of [
      [path.join(dir, 'missing.json'), 'does not exist'],
      [path.join(dir, 'bad.json'), 'not valid JSON'],
      [dir, 'cannot be read'],
      ['', 'name is empty'],
    ] as const) {
      const cache = fresh('cache');
      const dest = fresh('layout');
      for (const json of [false, true]) {
        const r = await mote(['pull', `${proxy.host}/team/app:v1`, '--to', `oci:${dest}`, '--cache', cache, '--authfile', file, ...(json ? ['--json'] : [])]);
        expect(r.code, `${file}: ${r.err}`).toBe(2);
        if (json) expect(JSON.parse(r.err)).toMatchObject({ error: { code: 'ERR_INVALID_CREDENTIALS', message: expect.stringContaining(says) } });
        else expect(r.err).toContain(says);
        expect(fs.existsSync(cache)).toBe(false);
        expect(fs.existsSync(dest)).toBe(false);
      }
    }
    expect(proxy.requests).toEqual([]);
  });

  it('a usable one that this registry does not need: the pull works (anonymous)', async () => {
    const r = await mote(['pull', `${proxy.host}/team/app:v1`, '--to', `oci:${fresh('layout')}`, '--cache', fresh('cache'), '--authfile', authFileWith('elsewhere.example')]);
    expect(r.code, r.err).toBe(0);
  });

  it('--insecure "" names no host: exit 2', async () => {
    const r = await mote(['pull', `${proxy.host}/team/app:v1`, '--to', `oci:${fresh('layout')}`, '--cache', fresh('cache'), '--insecure', ',']);
    expect(r.code, r.err).toBe(2);
  });
});

describe.skipIf(reason)('mote pull: a registry whose auth challenge is unusable', () => {
  it('credentials on file and a Bearer challenge without a realm: exit 4 naming the challenge, not "no credentials"', async () => {
    proxy.rule = () => ({ status: 401, headers: { 'www-authenticate': 'Bearer service="reg.example"' }, body: '{"errors":[{"code":"UNAUTHORIZED"}]}' });
    try {
      const r = await mote(['pull', `${proxy.host}/team/app:v1`, '--to', `oci:${fresh('layout')}`, '--cache', fresh('cache'), '--authfile', authFileWith(proxy.host)]);
      expect(r.code, r.err).toBe(4);
      expect(r.err).toContain('ERR_REGISTRY_PROTOCOL');
      expect(r.err).toContain('Bearer challenge has no realm');
      expect(r.err).not.toContain('no credentials');
      expect(r.err).not.toContain('secret');
    } finally {
      proxy.rule = () => 'pass';
    }
  });
});

describe.skipIf(reason)('mote pull --timeout', () => {
  it('a registry still trickling at the deadline: exit 7, ERR_PULL_TIMEOUT, promptly, nothing written; --json error shape', async () => {
    proxy.rule = (r) => (r.method === 'GET' && r.path.includes('/blobs/') ? { trickle: { bytes: 1, everyMs: 20 } } : 'pass');
    try {
      for (const json of [false, true]) {
        const dest = fresh('layout');
        const r = await mote(['pull', `${proxy.host}/team/app:v1`, '--to', `oci:${dest}`, '--cache', fresh('cache'), '--timeout', '1s', ...(json ? ['--json'] : [])]);
        expect(r.code, r.err).toBe(7);
        expect(r.err).toContain('ERR_PULL_TIMEOUT');
        if (json) expect(JSON.parse(r.err)).toMatchObject({ error: { code: 'ERR_PULL_TIMEOUT', message: expect.stringContaining('deadline of 1 s') } });
        expect(r.out).toBe('');
        expect(fs.existsSync(dest)).toBe(false);
        expect(r.ms).toBeLessThan(30_000); // about 1 s plus start-up; far below what the trickle would take
      }
    } finally {
      proxy.rule = () => 'pass';
    }
  });

  it('a generous timeout does not get in the way; a bad one is a usage error before anything is fetched', async () => {
    const ok = await mote(['pull', `${proxy.host}/team/app:v1`, '--to', `oci:${fresh('layout')}`, '--cache', fresh('cache'), '--timeout', '10m']);
    expect(ok.code, ok.err).toBe(0);
    proxy.requests.length = 0;
    for (const bad of ['', '0', '-1s', 'soon', '5 fortnights', '1000h']) {
      const cache = fresh('cache');
      const r = await mote(['pull', `${proxy.host}/team/app:v1`, '--to', `oci:${fresh('layout')}`, '--cache', cache, '--timeout', bad]);
      expect(r.code, `${bad}: ${r.err}`).toBe(2);
      expect(r.err).toContain('--timeout');
      expect(fs.existsSync(cache)).toBe(false);
    }
    expect(proxy.requests).toEqual([]);
  });
});

describe.skipIf(reason)('mote pull --json with a store that warns', () => {
  it('an unreadable blob-info cache is rebuilt: the warning is a JSON line on stderr, stdout one document', async () => {
    const cache = fresh('cache');
    fs.mkdirSync(path.join(cache, '.mote'), { recursive: true });
    fs.writeFileSync(path.join(cache, '.mote', 'blobinfo.db'), 'this is not a SQLite database, and it is long enough to be read as one '.repeat(20));
    const r = await mote(['pull', `${proxy.host}/team/app:v1`, '--to', `oci:${fresh('layout')}`, '--cache', cache, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ digest: app.digest });
    const lines = r.err.split('\n').filter((l) => l !== '');
    expect(lines.length, r.err).toBeGreaterThan(0);
    for (const l of lines) expect(JSON.parse(l), l).toMatchObject({ warning: { code: expect.stringMatching(/^MOTECACHE_/) } });
    expect(lines.map((l) => (JSON.parse(l) as { warning: { code: string } }).warning.code)).toContain('MOTECACHE_BLOBINFO_REBUILT');
  });
});
