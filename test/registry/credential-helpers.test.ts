/**
 * Docker credential helpers (`credsStore`, `credHelpers`) run for real: a helper script on a PATH the test sets,
 * speaking the docker-credential-helpers protocol, against the lookup across every auth file, a real htpasswd
 * registry, and a token realm that takes identity tokens as OAuth2 refresh tokens.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import util from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CredentialHelperError,
  CredentialHelperNotFoundError,
  FileCredentialSource,
  InvalidCredentialsError,
  RegistryAuthError,
  RegistryClient,
  credentialHelperErase,
  credentialHelperGet,
  credentialHelperStore,
  parseAuthConfig,
} from '../../src/registry/index.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';
import { writeTestHelper, type TestHelper } from './credential-helper-script.js';

const SECRET = 'helper-SECRET-p4ss';
const TOKEN = 'identity-TOKEN-refresh';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const { dir: scratch, cleanup } = makeTempDir('motecache-credhelpers-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
let helper: TestHelper;

beforeAll(() => {
  helper = writeTestHelper(scratch);
});
afterAll(() => cleanup());

/** A home with nothing in it, the helper on PATH, and the given files written (relative to the home). */
function setup(files: Record<string, unknown>, extraEnv: NodeJS.ProcessEnv = {}) {
  const home = fresh('home');
  for (const [rel, doc] of Object.entries(files)) {
    const file = path.join(home, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(doc));
  }
  const env = helper.env({ PATH: process.env.PATH, XDG_RUNTIME_DIR: path.join(home, 'run'), ...extraEnv });
  return { home, env, source: (more: object = {}) => new FileCredentialSource({ env, homedir: home, ...more }) };
}

/** 'gone' once `pid` is not running: no such process, or a zombie waiting for whoever adopted it to reap it. */
function processState(pid: number): 'alive' | 'gone' {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^\d+ \(.*\) Z/.test(stat) ? 'gone' : 'alive';
  } catch {
    return 'gone';
  }
}

function everything(err: unknown): string {
  return `${String(err)} ${(err as Error).message} ${JSON.stringify(err)} ${util.inspect(err, { depth: 5 })}`;
}

describe('the helper protocol', () => {
  const opts = () => ({ env: helper.env() });

  it('get: the stored credential; the server URL on stdin; nothing found is undefined', async () => {
    helper.setMode('ok');
    helper.setStore({ 'reg.example:5000': { Username: 'alice', Secret: SECRET } });
    helper.clearCalls();
    const c = await credentialHelperGet('motetest', 'reg.example:5000', opts());
    expect(c).toMatchObject({ username: 'alice', password: SECRET });
    expect(c?.identityToken).toBeUndefined();
    expect(await credentialHelperGet('motetest', 'other.example', opts())).toBeUndefined();
    expect(helper.calls()).toEqual([
      { action: 'get', server: 'reg.example:5000' },
      { action: 'get', server: 'other.example' },
    ]);
    for (const shown of [JSON.stringify(c), String(c), util.inspect(c)]) expect(shown).not.toContain(SECRET);
  });

  it('a <token> username makes the secret an identity token', async () => {
    helper.setMode('ok');
    helper.setStore({ 'tok.example': { Username: '<token>', Secret: TOKEN } });
    const c = await credentialHelperGet('motetest', 'tok.example', opts());
    expect(c?.identityToken).toBe(TOKEN);
    expect(util.inspect(c) + JSON.stringify(c)).not.toContain(TOKEN);
  });

  it('store and erase; erase of nothing is false', async () => {
    helper.setMode('ok');
    helper.setStore({});
    await credentialHelperStore('motetest', 'new.example', 'bob', SECRET, opts());
    expect(helper.store()).toEqual({ 'new.example': { Username: 'bob', Secret: SECRET } });
    expect(await credentialHelperErase('motetest', 'new.example', opts())).toBe(true);
    expect(await credentialHelperErase('motetest', 'new.example', opts())).toBe(false);
    expect(helper.store()).toEqual({});
  });

  it('a missing helper: CredentialHelperNotFoundError naming the program and where it is configured', async () => {
    const err = await credentialHelperGet('motemissing', 'x.example', { env: helper.env(), origin: { file: '/cfg/config.json', key: 'credsStore' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialHelperNotFoundError);
    expect(err).toMatchObject({ code: 'ERR_CREDENTIAL_HELPER_NOT_FOUND', helper: 'docker-credential-motemissing', category: 'invalid' });
    expect((err as Error).message).toContain('docker-credential-motemissing');
    expect((err as Error).message).toContain('/cfg/config.json');
  });

  it('a failing helper: its message quoted; an answer that could hold the secret is not', async () => {
    helper.setStore({ 'reg.example': { Username: 'alice', Secret: SECRET } });
    helper.setMode('fail');
    const err = await credentialHelperGet('motetest', 'reg.example', opts()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialHelperError);
    expect(err).toMatchObject({ code: 'ERR_CREDENTIAL_HELPER', reason: 'failed' });
    expect((err as Error).message).toContain('exited with status 3');
    expect((err as Error).message).toContain('the keychain is locked');
    helper.setMode('fail-with-secret');
    const leaky = await credentialHelperGet('motetest', 'reg.example', opts()).catch((e: unknown) => e);
    expect(leaky).toMatchObject({ code: 'ERR_CREDENTIAL_HELPER', reason: 'failed' });
    expect(everything(leaky)).not.toContain(SECRET);
    helper.setMode('bad-json');
    const bad = await credentialHelperGet('motetest', 'reg.example', opts()).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 'ERR_CREDENTIAL_HELPER', reason: 'bad-answer' });
    expect(everything(bad)).not.toContain(SECRET);
    helper.setMode('ok');
  });

  it('a helper that never answers is killed at the timeout, with what it started', async () => {
    helper.setMode('hang');
    fs.rmSync(path.join(helper.dir, 'hang.pid'), { force: true });
    const t0 = Date.now();
    const err = await credentialHelperGet('motetest', 'reg.example', { ...opts(), timeoutMs: 700 }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(err).toMatchObject({ code: 'ERR_CREDENTIAL_HELPER', reason: 'timeout', category: 'unavailable' });
    const sleeper = helper.hangPid();
    expect(sleeper).toBeGreaterThan(0);
    // Its grandchild (the sleep holding stdout) went with it.
    await expect.poll(() => processState(sleeper!), { timeout: 5000 }).toBe('gone');
    helper.setMode('ok');
  });

  it('a helper that says too much is cut off', async () => {
    helper.setMode('big');
    const err = await credentialHelperGet('motetest', 'reg.example', { ...opts(), maxOutputBytes: 64 * 1024 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_CREDENTIAL_HELPER', reason: 'output-too-large' });
    helper.setMode('ok');
  });
});

describe('credsStore and credHelpers in the auth files', () => {
  it('parseAuthConfig reads them; a helper name that is a path or an option is refused', () => {
    const c = parseAuthConfig(JSON.stringify({ credsStore: 'desktop', credHelpers: { 'https://index.docker.io/v1/': 'hub', 'gcr.io': 'gcloud', 'q.io/ns': 'x' } }));
    expect(c.credsStore).toBe('desktop');
    expect([...c.credHelpers]).toEqual([
      ['docker.io', 'hub'],
      ['gcr.io', 'gcloud'],
    ]);
    for (const bad of [{ credsStore: '../../bin/sh' }, { credsStore: '-x' }, { credHelpers: { 'a.io': 'a/b' } }, { credHelpers: { 'a.io': 3 } }, { credHelpers: [] }]) {
      expect(() => parseAuthConfig(JSON.stringify(bad), '/f.json'), JSON.stringify(bad)).toThrow(InvalidCredentialsError);
    }
  });

  it('credHelpers[host] wins over auths and credsStore; auths over credsStore; credsStore for the rest', async () => {
    helper.setMode('ok');
    helper.setStore({
      'h.example': { Username: 'from-credhelpers', Secret: SECRET },
      'a.example': { Username: 'from-credsstore', Secret: SECRET },
      's.example': { Username: 'from-credsstore', Secret: SECRET },
    });
    const { source } = setup({
      '.docker/config.json': {
        auths: { 'h.example': { auth: b64('from-auths:p') }, 'a.example': { auth: b64('from-auths:p') }, 's.example': {} },
        credsStore: 'motetest',
        credHelpers: { 'h.example': 'motetest', 'e.example': '' },
      },
    });
    const src = source();
    expect((await src.get('h.example'))?.username).toBe('from-credhelpers');
    expect((await src.get('a.example'))?.username).toBe('from-auths');
    expect((await src.find('s.example'))).toMatchObject({ helper: 'docker-credential-motetest', credential: { username: 'from-credsstore' } });
    // An empty credHelpers entry: no helper for that host, not even credsStore.
    helper.clearCalls();
    expect(await src.get('e.example')).toBeUndefined();
    expect(helper.calls()).toEqual([]);
    // Helpers off: auths only.
    expect((await source({ credentialHelpers: false }).get('h.example'))?.username).toBe('from-auths');
  });

  it('every file is asked in order: a host no file knows is anonymous; a helper that knows nothing passes to the next file', async () => {
    helper.setMode('ok');
    helper.setStore({ 'second.example': { Username: 'helper', Secret: SECRET } });
    const { source } = setup({
      'run/containers/auth.json': { auths: { 'first.example': { auth: b64('xdg-runtime:p') } }, credHelpers: { 'third.example': 'motetest' } },
      '.config/containers/auth.json': { auths: { 'third.example': { auth: b64('xdg-config:p') } } },
      '.docker/config.json': { auths: { 'first.example': { auth: b64('docker:p') } }, credsStore: 'motetest' },
      '.dockercfg': { 'fourth.example': { auth: b64('legacy:p'), email: 'x@y' } },
    });
    const src = source();
    expect((await src.find('first.example'))?.credential.username).toBe('xdg-runtime');
    expect((await src.find('second.example'))).toMatchObject({ credential: { username: 'helper' }, helper: 'docker-credential-motetest' });
    expect((await src.find('third.example'))?.credential.username).toBe('xdg-config');
    expect((await src.find('fourth.example'))?.credential.username).toBe('legacy');
    expect(await src.get('nowhere.example')).toBeUndefined();
    // An explicit file is the only one.
    const only = path.join(scratch, `only-${++n}.json`);
    fs.writeFileSync(only, JSON.stringify({ auths: {} }));
    expect(await source({ authFile: only }).get('first.example')).toBeUndefined();
  });

  it('Docker Hub is asked for as Docker files it, then as docker.io; answers are reused, failures are not', async () => {
    helper.setMode('ok');
    helper.setStore({ 'docker.io': { Username: 'podman-user', Secret: SECRET } });
    const { source } = setup({ '.docker/config.json': { credHelpers: { 'index.docker.io': 'motetest' } } });
    const src = source();
    helper.clearCalls();
    expect((await src.get('registry-1.docker.io'))?.username).toBe('podman-user');
    expect(helper.calls()).toEqual([
      { action: 'get', server: 'https://index.docker.io/v1/' },
      { action: 'get', server: 'docker.io' },
    ]);
    await Promise.all([src.get('docker.io'), src.get('docker.io', 'library/alpine')]);
    expect(helper.calls()).toHaveLength(2);
    helper.setMode('fail');
    const fresh2 = source();
    await expect(fresh2.get('docker.io')).rejects.toBeInstanceOf(CredentialHelperError);
    helper.setMode('ok');
    expect((await fresh2.get('docker.io'))?.username).toBe('podman-user');
  });

  it('a missing or failing helper fails the lookup with its typed error, naming the file; the secret in no message', async () => {
    const { source, home } = setup({ '.docker/config.json': { credsStore: 'motemissing' } });
    const err = await source().get('x.example').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialHelperNotFoundError);
    expect((err as Error).message).toContain(path.join(home, '.docker', 'config.json'));
    expect((err as Error).message).toContain('credsStore');
  });
});

describe.skipIf(registryUnavailableReason())('a registry through a credential helper', () => {
  let reg: RegistryHandle;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'basic' });
  }, 120_000);
  afterAll(async () => reg?.stop());

  it('Basic auth with the helper credential; a wrong one is RegistryAuthError without the secret', async () => {
    helper.setMode('ok');
    helper.setStore({ [reg.host]: { Username: reg.username!, Secret: reg.password! } });
    const { env, home } = setup({ '.docker/config.json': { credHelpers: { [reg.host]: 'motetest' } } });
    helper.clearCalls();
    const c = new RegistryClient({ credentials: new FileCredentialSource({ env, homedir: home }) });
    expect(await c.ping(reg.host)).toEqual({ apiVersion: 'registry/2.0' });
    expect(await c.tags(`${reg.host}/nothing/here`).catch((e: unknown) => (e as { code: string }).code)).toBe('ERR_REGISTRY_NOT_FOUND');
    await c.close();
    // Answers are reused: one run for many requests.
    expect(helper.calls()).toEqual([{ action: 'get', server: reg.host }]);
    helper.setStore({ [reg.host]: { Username: reg.username!, Secret: SECRET } });
    const wrong = new RegistryClient({ credentials: new FileCredentialSource({ env, homedir: home }) });
    const err = await wrong.ping(reg.host).catch((e: unknown) => e);
    await wrong.close();
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect(everything(err)).not.toContain(SECRET);
  });
});

describe('an identity token from a helper is sent as an OAuth2 refresh token', () => {
  it('the token realm gets grant_type=refresh_token with the helper secret, and the registry the access token', async () => {
    const seen: Array<Record<string, string>> = [];
    const server = http.createServer((req, res) => {
      const port = (server.address() as AddressInfo).port;
      if (req.url === '/token' && req.method === 'POST') {
        let body = '';
        req.on('data', (d) => (body += String(d)));
        req.on('end', () => {
          seen.push(Object.fromEntries(new URLSearchParams(body)));
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'ACCESS-1', expires_in: 300 }));
        });
        return;
      }
      if (req.url === '/v2/' && req.headers.authorization === 'Bearer ACCESS-1') {
        res.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0' }).end('{}');
        return;
      }
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://127.0.0.1:${port}/token",service="fake"`, 'content-type': 'application/json' });
      res.end('{"errors":[{"code":"UNAUTHORIZED","message":"auth"}]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      helper.setMode('ok');
      helper.setStore({ [host]: { Username: '<token>', Secret: TOKEN } });
      const { env, home } = setup({ '.docker/config.json': { credsStore: 'motetest' } });
      const c = new RegistryClient({ credentials: new FileCredentialSource({ env, homedir: home }) });
      expect(await c.ping(host)).toEqual({ apiVersion: 'registry/2.0' });
      await c.close();
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ grant_type: 'refresh_token', refresh_token: TOKEN, service: 'fake' });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
