/**
 * `mote login` / `mote logout` through the built CLI against a real htpasswd registry, then `mote pull` with what
 * they stored; credential helpers on a PATH the test sets. No password or helper secret may appear in any output.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MOTE_BIN } from '../helpers/cli.js';
import { makeImage } from '../helpers/images.js';
import { pushLayout, registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';
import { writeTestHelper, type TestHelper } from '../registry/credential-helper-script.js';

const reason = registryUnavailableReason();
const { dir: scratch, cleanup } = makeTempDir('motecache-cli-login-');
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const b64 = (s: string) => Buffer.from(s).toString('base64');
const WRONG = 'wrong-PASSWORD-xyz';
const HELPER_SECRET = 'helper-kept-SECRET';

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** An environment with no outside credentials or cache: a private HOME and runtime dir, `extra` on top. */
function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv & { HOME: string; XDG_RUNTIME_DIR: string } {
  const e: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['MOTE_CACHE_DIR', 'MOTE_CONFIG', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'REGISTRY_AUTH_FILE', 'DOCKER_CONFIG', 'XDG_RUNTIME_DIR']) delete e[k];
  const home = fresh('home');
  const runtime = fresh('run');
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(runtime, { recursive: true });
  return { ...e, HOME: home, XDG_RUNTIME_DIR: runtime, MOTE_CACHE_DIR: path.join(home, 'cache'), ...extra } as NodeJS.ProcessEnv & {
    HOME: string;
    XDG_RUNTIME_DIR: string;
  };
}

function mote(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MOTE_BIN, ...args], { env, cwd: scratch, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += String(d)));
    child.stderr!.on('data', (d) => (err += String(d)));
    child.stdin?.end(input);
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

const authJson = (env: { XDG_RUNTIME_DIR: string }) => path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json');
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as { auths: Record<string, { auth?: string }>; [k: string]: unknown };

describe.skipIf(reason)('mote login / logout against a registry with Basic auth', () => {
  let reg: RegistryHandle;
  let helper: TestHelper;
  let image: string;
  let secrets: string[];
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'basic' });
    const layout = fresh('images');
    await makeImage(layout, { tag: 'small', layers: [{ size: 4_000 }] });
    await pushLayout(layout, 'small', reg, 'private/small:v1');
    image = `${reg.host}/private/small:v1`;
    helper = writeTestHelper(scratch);
    secrets = [reg.password!, b64(`${reg.username}:${reg.password}`), WRONG, HELPER_SECRET];
  }, 120_000);
  afterAll(async () => {
    await reg?.stop();
    cleanup();
  });

  const noSecrets = (...runs: Run[]) => {
    for (const r of runs) for (const s of secrets) expect(`${r.out}\n${r.err}`).not.toContain(s);
  };
  const pull = (env: NodeJS.ProcessEnv) => mote(['pull', image, '--to', `oci:${fresh('dest')}`], env);

  it('login (password on stdin) writes $XDG_RUNTIME_DIR/containers/auth.json 0600, keeping what was there; pull uses it; logout removes it', async () => {
    const env = baseEnv();
    const file = authJson(env);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ auths: { 'other.example': { auth: b64('o:p') } }, credHelpers: {}, extra: { kept: true } }));
    expect((await pull(env)).code).toBe(6); // not logged in yet: the registry refuses
    const login = await mote(['login', reg.host, '-u', reg.username!, '--password-stdin'], env, `${reg.password}\n`);
    expect(login.code, login.err).toBe(0);
    expect(login.out).toBe('Login Succeeded!\n');
    expect(login.err).toContain(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const doc = readJson(file);
    expect(doc.auths[reg.host]).toEqual({ auth: b64(`${reg.username}:${reg.password}`) });
    expect(doc.auths['other.example']).toEqual({ auth: b64('o:p') });
    expect(doc.extra).toEqual({ kept: true });
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(['auth.json']); // no temporary, no lock left

    const who = await mote(['login', '--get-login', reg.host], env);
    expect(who).toMatchObject({ code: 0, out: `${reg.username}\n` });
    const again = await mote(['login', reg.host], env);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain(`Already logged in to ${reg.host}`);

    const pulled = await pull(env);
    expect(pulled.code, pulled.err).toBe(0);
    expect(pulled.out).toContain(`pulled ${image}`);

    const logout = await mote(['logout', reg.host], env);
    expect(logout).toMatchObject({ code: 0, out: `Removed login credentials for ${reg.host}\n` });
    expect(readJson(file).auths).toEqual({ 'other.example': { auth: b64('o:p') } });
    const twice = await mote(['logout', reg.host, '--json'], env);
    expect(twice.code).toBe(3); // not found: nothing stored for it
    expect(JSON.parse(twice.err)).toMatchObject({ error: { code: 'ERR_NOT_LOGGED_IN' } });
    expect((await pull(env)).code).toBe(6);
    const nobody = await mote(['login', '--get-login', reg.host], env);
    expect(nobody.code).toBe(3);
    expect(nobody.err).toContain('ERR_NOT_LOGGED_IN');
    noSecrets(login, who, again, pulled, logout, twice, nobody);
  });

  it('wrong credentials: exit 6, nothing written, the password nowhere in the output', async () => {
    const env = baseEnv();
    const r = await mote(['login', reg.host, '-u', reg.username!, '-p', WRONG], env);
    expect(r.code, r.err).toBe(6);
    expect(r.err).toContain('ERR_REGISTRY_AUTH');
    expect(fs.existsSync(authJson(env))).toBe(false);
    const j = await mote(['login', reg.host, '-u', reg.username!, '--password-stdin', '--json'], env, WRONG);
    expect(j.code).toBe(6);
    expect(j.out).toBe('');
    expect(JSON.parse(j.err)).toMatchObject({ error: { code: 'ERR_REGISTRY_AUTH' } });
    noSecrets(r, j);
  });

  it('usage errors exit 2: both password flags, --password-stdin without -u, no password, a tag, --all with a registry', async () => {
    const env = baseEnv();
    const cases: Array<[string[], string | undefined]> = [
      [['login', reg.host, '-u', 'x', '-p', 'y', '--password-stdin'], 'y'],
      [['login', reg.host, '--password-stdin'], 'y'],
      [['login', reg.host, '-u', 'x'], undefined],
      [['login', reg.host], undefined],
      [['login', `${reg.host}/private/small:v1`, '-u', 'x', '-p', 'y'], undefined],
      [['logout', '--all', reg.host], undefined],
      [['logout'], undefined],
      [['login', reg.host, '-u', 'x', '--password-stdin'], '\n'],
    ];
    for (const [args, input] of cases) {
      const r = await mote(args, env, input);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
    }
    expect(fs.existsSync(authJson(env))).toBe(false);
  });

  it('--authfile and $REGISTRY_AUTH_FILE name the file; a namespace key; --json; logout --all', async () => {
    const env = baseEnv();
    const named = path.join(fresh('files'), 'nested', 'mine.json');
    const r = await mote(['login', `http://${reg.host}/v2/`, '-u', reg.username!, '-p', reg.password!, '--authfile', named, '--json'], env);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ registry: reg.host, username: reg.username, file: named, alreadyLoggedIn: false });
    expect(Object.keys(readJson(named).auths)).toEqual([reg.host]);
    expect(fs.existsSync(authJson(env))).toBe(false);
    const viaFile = await mote(['pull', image, '--to', `oci:${fresh('dest')}`, '--authfile', named], env);
    expect(viaFile.code, viaFile.err).toBe(0);

    const envFile = path.join(fresh('files'), 'env.json');
    const env2 = { ...env, REGISTRY_AUTH_FILE: envFile };
    const ns = await mote(['login', `${reg.host}/private`, '-u', reg.username!, '-p', reg.password!], env2);
    expect(ns.code, ns.err).toBe(0);
    expect(Object.keys(readJson(envFile).auths)).toEqual([`${reg.host}/private`]);
    expect((await pull(env2)).code).toBe(0); // private/small is under the namespace key
    const all = await mote(['logout', '--all'], env2);
    expect(all).toMatchObject({ code: 0, out: 'Removed login credentials for all registries\n' });
    expect(readJson(envFile).auths).toEqual({});
    const missing = await mote(['logout', reg.host, '--authfile', path.join(scratch, 'no-such.json')], env);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('ERR_INVALID_CREDENTIALS');
    noSecrets(r, viaFile, ns, all, missing);
  });

  it('the files are consulted in order: a login in ~/.docker/config.json is used when auth.json does not have the host', async () => {
    const env = baseEnv();
    fs.mkdirSync(path.dirname(authJson(env)), { recursive: true });
    fs.writeFileSync(authJson(env), JSON.stringify({ auths: { 'elsewhere.example': { auth: b64('e:p') } } }));
    fs.mkdirSync(path.join(env.HOME, '.docker'));
    fs.writeFileSync(path.join(env.HOME, '.docker', 'config.json'), JSON.stringify({ auths: { [`https://${reg.host}`]: { auth: b64(`${reg.username}:${reg.password}`) } } }));
    const r = await pull(env);
    expect(r.code, r.err).toBe(0);
    // logout changes the containers file only, and says where the credentials still come from.
    const out = await mote(['logout', reg.host], env);
    expect(out.code).toBe(3);
    expect(out.err).toContain(path.join(env.HOME, '.docker', 'config.json'));
    noSecrets(r, out);
  });

  it('a credential helper: pull through credHelpers; login stores in the helper, logout erases; the secret never shown', async () => {
    helper.setMode('ok');
    helper.setStore({ [reg.host]: { Username: reg.username!, Secret: reg.password! } });
    helper.clearCalls();
    const env = helper.env(baseEnv()) as ReturnType<typeof baseEnv>;
    fs.mkdirSync(path.join(env.HOME, '.docker'));
    fs.writeFileSync(path.join(env.HOME, '.docker', 'config.json'), JSON.stringify({ auths: { [reg.host]: {} }, credsStore: 'motetest' }));
    const r = await pull(env);
    expect(r.code, r.err).toBe(0);
    expect(helper.calls()).toEqual([{ action: 'get', server: reg.host }]);
    const who = await mote(['login', '--get-login', reg.host, '--json'], env);
    expect(JSON.parse(who.out)).toMatchObject({ username: reg.username, helper: 'docker-credential-motetest' });

    // The containers file names the helper for this host: login checks, then stores there; logout erases.
    helper.setStore({});
    fs.mkdirSync(path.dirname(authJson(env)), { recursive: true });
    fs.writeFileSync(authJson(env), JSON.stringify({ auths: {}, credHelpers: { [reg.host]: 'motetest' } }));
    const login = await mote(['login', reg.host, '-u', reg.username!, '--password-stdin'], env, reg.password);
    expect(login.code, login.err).toBe(0);
    expect(login.err).toContain('docker-credential-motetest');
    expect(helper.store()).toEqual({ [reg.host]: { Username: reg.username, Secret: reg.password } });
    expect(readJson(authJson(env)).auths).toEqual({});
    expect((await pull(env)).code).toBe(0);
    const logout = await mote(['logout', reg.host], env);
    expect(logout.code, logout.err).toBe(0);
    expect(helper.store()).toEqual({});
    noSecrets(r, who, login, logout);
  });

  it('--debug traces each request (method, URL, status), the 401 and where credentials came from, never a secret or a header', async () => {
    helper.setMode('ok');
    helper.setStore({ [reg.host]: { Username: reg.username!, Secret: reg.password! } });
    const env = helper.env(baseEnv()) as ReturnType<typeof baseEnv>;
    fs.mkdirSync(path.join(env.HOME, '.docker'));
    const config = path.join(env.HOME, '.docker', 'config.json');
    fs.writeFileSync(config, JSON.stringify({ credsStore: 'motetest' }));
    const text = await mote(['pull', image, '--to', `oci:${fresh('dest')}`, '--debug'], env);
    expect(text.code, text.err).toBe(0);
    const debug = text.err.split('\n').filter((l) => l.startsWith('mote: debug: '));
    const manifestUrl = `http://${reg.host}/v2/private/small/manifests/v1`;
    expect(debug.join('\n')).toContain(`HEAD ${manifestUrl} -> 401`);
    expect(debug.join('\n')).toContain(`HEAD ${manifestUrl} -> 200`);
    // Said once, not for every request (Basic auth looks credentials up each time).
    expect(debug.filter((l) => l === `mote: debug: credentials for ${reg.host}: docker-credential-motetest (named in ${config})`)).toHaveLength(1);
    expect(debug.filter((l) => /\/v2\/private\/small\/blobs\/sha256:[0-9a-f]{64} -> 200/.test(l))).toHaveLength(2); // config and layer
    expect(text.err.toLowerCase()).not.toContain('authorization');

    // --json: the same events as {"debug":{...}} lines; stderr stays JSON lines, stdout one document.
    const json = await mote(['pull', image, '--to', `oci:${fresh('dest')}`, '--debug', '--json', '--cache', fresh('cache')], env);
    expect(json.code, json.err).toBe(0);
    const events = json.err.trim().split('\n').map((l) => (JSON.parse(l) as { debug: { type: string; status?: number } }).debug);
    expect(events.filter((e) => e.type === 'response' && e.status === 401).length).toBeGreaterThan(0);
    expect(events.some((e) => e.type === 'credential')).toBe(true);
    expect(JSON.parse(json.out)).toMatchObject({ reference: image });
    noSecrets(text, json);
  });

  it('a missing helper (exit 2) or a failing one (exit 6) fails the pull with its typed error, naming it, without the secret', async () => {
    const env = helper.env(baseEnv()) as ReturnType<typeof baseEnv>;
    fs.mkdirSync(path.join(env.HOME, '.docker'));
    const config = path.join(env.HOME, '.docker', 'config.json');
    fs.writeFileSync(config, JSON.stringify({ credsStore: 'motemissing' }));
    const missing = await pull(env);
    expect(missing.code).toBe(2); // configuration to fix, as an unparsable auth file is
    expect(missing.err).toContain('ERR_CREDENTIAL_HELPER_NOT_FOUND');
    expect(missing.err).toContain('docker-credential-motemissing');
    expect(missing.err).toContain(config);

    fs.writeFileSync(config, JSON.stringify({ credHelpers: { [reg.host]: 'motetest' } }));
    helper.setStore({ [reg.host]: { Username: reg.username!, Secret: HELPER_SECRET } });
    helper.setMode('fail-with-secret');
    const failing = await mote(['pull', image, '--to', `oci:${fresh('dest')}`, '--json'], env);
    expect(failing.code).toBe(6); // no credentials could be had
    expect(JSON.parse(failing.err)).toMatchObject({ error: { code: 'ERR_CREDENTIAL_HELPER' } });
    helper.setMode('ok');
    // The helper's credential is wrong for this registry: the registry refuses it (6), the secret is not shown.
    const refused = await pull(env);
    expect(refused.code).toBe(6);
    noSecrets(missing, failing, refused);
  });
});
