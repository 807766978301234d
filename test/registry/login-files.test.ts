/**
 * Where login writes and how the auth file is changed (no registry needed): the target skopeo would pick, the keys
 * a login is filed under, the file rewritten atomically with mode 0600 keeping everything else, concurrent logins
 * all kept, files that cannot be read left alone.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeAllLogins, removeLogin, storeLogin } from '../../src/registry/auth/auth-file-edit.js';
import { FileCredentialSource, authFileCandidates, login, loginTarget, parseLoginKey, primaryAuthFile } from '../../src/registry/index.js';
import { makeTempDir } from '../helpers/tmp.js';

/** The built module (vitest's global setup builds dist/), for the processes that log in at once. */
const EDIT_MODULE = path.join(path.dirname(new URL(import.meta.url).pathname), '..', '..', 'dist', 'registry', 'auth', 'auth-file-edit.js');
const { dir: scratch, cleanup } = makeTempDir('motecache-login-files-');
afterAll(() => cleanup());
let n = 0;
const fresh = (label: string): string => path.join(scratch, `${label}-${++n}`);
const b64 = (s: string) => Buffer.from(s).toString('base64');
const read = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown> & { auths: Record<string, unknown> };

describe('where', () => {
  it('loginTarget: --authfile, else REGISTRY_AUTH_FILE, else DOCKER_CONFIG (Docker format), else the primary containers file', () => {
    const env = { REGISTRY_AUTH_FILE: '/r.json', DOCKER_CONFIG: '/dc', XDG_RUNTIME_DIR: '/run/user/7' };
    expect(loginTarget({ authFile: '/a.json', env })).toEqual({ file: '/a.json', dockerCompat: false, explicit: true });
    expect(loginTarget({ env })).toEqual({ file: '/r.json', dockerCompat: false, explicit: true });
    expect(loginTarget({ env: { ...env, REGISTRY_AUTH_FILE: '' } })).toEqual({ file: '/dc/config.json', dockerCompat: true, explicit: false });
    expect(loginTarget({ env: { XDG_RUNTIME_DIR: '/run/user/7' } })).toEqual({ file: '/run/user/7/containers/auth.json', dockerCompat: false, explicit: false });
  });

  it.runIf(process.platform === 'linux')('without XDG_RUNTIME_DIR: /run/containers/<uid>/auth.json, read and written, as containers/image', () => {
    const mine = `/run/containers/${process.getuid!()}/auth.json`;
    expect(primaryAuthFile({ env: {}, homedir: '/h' })).toBe(mine);
    expect(authFileCandidates({ env: {}, homedir: '/h' })).toEqual([mine, '/h/.config/containers/auth.json', '/h/.docker/config.json', '/h/.dockercfg']);
    expect(authFileCandidates({ env: { XDG_CONFIG_HOME: '/cfg' }, homedir: '/h' })[1]).toBe('/cfg/containers/auth.json');
  });

  it('parseLoginKey: hosts, URLs, namespaces; tags, digests and junk refused', () => {
    expect(parseLoginKey('quay.io')).toEqual({ host: 'quay.io', namespace: undefined });
    expect(parseLoginKey('https://Registry.Example.com:5000/v2/')).toEqual({ host: 'registry.example.com:5000', namespace: undefined });
    expect(parseLoginKey('index.docker.io')).toEqual({ host: 'docker.io', namespace: undefined });
    expect(parseLoginKey('localhost:5000/team/app')).toEqual({ host: 'localhost:5000', namespace: 'team/app' });
    for (const bad of ['', 'quay.io/team/app:v1', 'quay.io/app@sha256:abc', '^bad^', 'quay.io/UPPER']) {
      expect(() => parseLoginKey(bad), bad).toThrow(expect.objectContaining({ code: 'ERR_MOTE_INVALID_ARGUMENT' }));
    }
  });
});

describe('changing the file', () => {
  const target = (file: string, dockerCompat = false) => ({ file, dockerCompat, explicit: true });

  it('store: created 0600 in a 0700 directory, other entries and fields kept, other spellings of the key replaced', async () => {
    const file = path.join(fresh('d'), 'sub', 'auth.json');
    await storeLogin(target(file), parseLoginKey('quay.io'), 'me', 'pw1');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(read(file)).toEqual({ auths: { 'quay.io': { auth: b64('me:pw1') } } });
    fs.writeFileSync(file, JSON.stringify({ auths: { 'https://quay.io': { auth: b64('old:x') }, 'ghcr.io': { auth: b64('g:h') } }, credsStore: '', HttpHeaders: { a: 'b' } }));
    await storeLogin(target(file), parseLoginKey('quay.io'), 'me', 'pw2');
    expect(read(file)).toEqual({ auths: { 'ghcr.io': { auth: b64('g:h') }, 'quay.io': { auth: b64('me:pw2') } }, credsStore: '', HttpHeaders: { a: 'b' } });
    expect((await new FileCredentialSource({ authFile: file }).get('quay.io'))?.password).toBe('pw2');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['auth.json']);
  });

  it('a Docker config.json: Docker Hub under https://index.docker.io/v1/, no namespace keys', async () => {
    const file = path.join(fresh('d'), 'config.json');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, JSON.stringify({ auths: { 'docker.io': { auth: b64('stale:x') } }, credsStore: '' }));
    await storeLogin(target(file, true), parseLoginKey('registry-1.docker.io'), 'hub', 'pw');
    expect(read(file).auths).toEqual({ 'https://index.docker.io/v1/': { auth: b64('hub:pw') } });
    await expect(storeLogin(target(file, true), parseLoginKey('quay.io/team'), 'u', 'p')).rejects.toMatchObject({ code: 'ERR_MOTE_INVALID_ARGUMENT' });
  });

  it('concurrent logins to one file all land, in one process and across processes (the lock)', async () => {
    const file = path.join(fresh('d'), 'auth.json');
    await Promise.all(Array.from({ length: 8 }, (_, i) => storeLogin(target(file), parseLoginKey(`r${i}.example`), `u${i}`, `p${i}`)));
    expect(Object.keys(read(file).auths).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `r${i}.example`));
    // Processes: each stores 5 hosts of its own, one after another, all at the same time as the others.
    const script = [
      `const { storeLogin, parseLoginKey } = await import(${JSON.stringify(EDIT_MODULE)});`,
      `for (let j = 0; j < 5; j++) await storeLogin({ file: process.argv[1], dockerCompat: false, explicit: true }, parseLoginKey('p' + process.argv[2] + '-' + j + '.example'), 'u', 'p');`,
    ].join('\n');
    const codes = await Promise.all(
      Array.from({ length: 4 }, (_, i) => new Promise<number | null>((resolve) => spawn(process.execPath, ['--input-type=module', '-e', script, file, String(i)], { stdio: 'inherit' }).once('close', resolve))),
    );
    expect(codes).toEqual([0, 0, 0, 0]);
    expect(Object.keys(read(file).auths)).toHaveLength(8 + 4 * 5);
  });

  it('a malformed or legacy-format file is not overwritten; a symbolic link is written through', async () => {
    const d = fresh('d');
    fs.mkdirSync(d);
    const bad = path.join(d, 'bad.json');
    fs.writeFileSync(bad, '{"auths": {"x": ');
    await expect(storeLogin(target(bad), parseLoginKey('quay.io'), 'u', 'p')).rejects.toMatchObject({ code: 'ERR_INVALID_CREDENTIALS' });
    expect(fs.readFileSync(bad, 'utf8')).toBe('{"auths": {"x": ');
    const legacy = path.join(d, '.dockercfg');
    fs.writeFileSync(legacy, JSON.stringify({ 'quay.io': { auth: b64('a:b') } }));
    await expect(storeLogin(target(legacy), parseLoginKey('ghcr.io'), 'u', 'p')).rejects.toMatchObject({ code: 'ERR_INVALID_CREDENTIALS' });
    const real = path.join(d, 'real.json');
    fs.writeFileSync(real, '{"auths":{}}');
    const link = path.join(d, 'link.json');
    fs.symlinkSync(real, link);
    await storeLogin(target(link), parseLoginKey('quay.io'), 'u', 'p');
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(Object.keys(read(real).auths)).toEqual(['quay.io']);
  });

  it('login refuses an empty auth file name before contacting anything', async () => {
    await expect(login('quay.io', { authFile: '', username: 'u', password: 'p' })).rejects.toMatchObject({ code: 'ERR_INVALID_CREDENTIALS' });
  });

  it('XDG_RUNTIME_DIR that does not exist is an error, not created', async () => {
    const runtime = fresh('no-such-runtime');
    const t = loginTarget({ env: { XDG_RUNTIME_DIR: runtime } });
    await expect(storeLogin(t, parseLoginKey('quay.io'), 'u', 'p', { env: { XDG_RUNTIME_DIR: runtime } })).rejects.toMatchObject({
      code: 'ERR_INVALID_CREDENTIALS',
      message: expect.stringContaining('XDG_RUNTIME_DIR'),
    });
    expect(fs.existsSync(runtime)).toBe(false);
  });

  it('remove: every spelling of the key; nothing there is reported; --all empties auths and keeps the rest', async () => {
    const file = path.join(fresh('d'), 'auth.json');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, JSON.stringify({ auths: { 'https://quay.io/v1/': { auth: b64('a:b') }, 'quay.io': { auth: b64('c:d') }, 'quay.io/team': { auth: b64('e:f') } }, x: 1 }));
    expect((await removeLogin(target(file), parseLoginKey('quay.io'))).keys.sort()).toEqual(['https://quay.io/v1/', 'quay.io']);
    expect(read(file).auths).toEqual({ 'quay.io/team': { auth: b64('e:f') } });
    expect((await removeLogin(target(file), parseLoginKey('quay.io'))).keys).toEqual([]);
    expect((await removeAllLogins(target(file))).keys).toEqual(['quay.io/team']);
    expect(read(file)).toEqual({ auths: {}, x: 1 });
    expect((await removeLogin(target(path.join(fresh('none'), 'a.json')), parseLoginKey('quay.io'))).keys).toEqual([]);
  });
});
