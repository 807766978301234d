import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';
import { describe, it, expect, afterEach } from 'vitest';
import {
  FileCredentialSource,
  InvalidCredentialsError,
  RegistryCredential,
  authFileCandidates,
  normalizeRegistryHost,
  parseAuthFile,
  lookupCredential,
  RegistryClient,
} from '../../src/registry/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { makeTempDir } from '../helpers/tmp.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const SECRET = 's3cr3t-pässword';

describe('normalizeRegistryHost (the original table)', () => {
  const ok: Array<[string, string]> = [
    ['host', 'host'],
    ['gcr.io', 'gcr.io'],
    ['localhost:5000/v2/', 'localhost:5000'],
    ['192.168.99.100:5000', '192.168.99.100:5000'],
    ['https://192.168.99.100:5000/v2', '192.168.99.100:5000'],
    ['https://my.domain.name:5000/v2', 'my.domain.name:5000'],
    ['https://gcr.io', 'gcr.io'],
    ['https://gcr.io/v1', 'gcr.io'],
    ['https://gcr.io/v1/', 'gcr.io'],
    ['gcr.io/v1', 'gcr.io'],
    ['telnet://gcr.io/v1', 'gcr.io'],
  ];
  for (const [input, want] of ok) it(`${JSON.stringify(input)} → ${want}`, () => expect(normalizeRegistryHost(input)).toBe(want));
  for (const bad of ['', 'https://', '^#invalid.io/v1/', '/var/user']) {
    it(`${JSON.stringify(bad)} is rejected with ERR_INVALID_CREDENTIALS`, () => {
      let err: unknown;
      try {
        normalizeRegistryHost(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidCredentialsError);
      expect((err as InvalidCredentialsError).code).toBe('ERR_INVALID_CREDENTIALS');
    });
  }
  it('Docker Hub aliases all mean docker.io', () => {
    for (const k of ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io']) {
      const c = parseAuthFile(JSON.stringify({ auths: { [k]: { auth: b64(`u:${SECRET}`) } } }));
      expect(lookupCredential(c, 'docker.io')?.username, k).toBe('u');
      expect(lookupCredential(c, 'registry-1.docker.io')?.username, k).toBe('u');
    }
  });
});

describe('auth file formats', () => {
  it('config.json: auth, username/password, identitytoken; credsStore/credHelpers ignored', () => {
    const c = parseAuthFile(
      JSON.stringify({
        auths: {
          'a.example': { auth: b64(`alice:${SECRET}:with:colons`) },
          'b.example:5000': { username: 'bob', password: SECRET },
          'c.example': { auth: b64('<token>:'), identitytoken: 'refresh-123' },
          'helper.example': {},
        },
        credsStore: 'desktop',
        credHelpers: { 'gcr.io': 'gcloud' },
      }),
    );
    expect(lookupCredential(c, 'a.example')?.password).toBe(`${SECRET}:with:colons`);
    expect(lookupCredential(c, 'b.example:5000')).toMatchObject({ username: 'bob', password: SECRET });
    expect(lookupCredential(c, 'c.example')?.identityToken).toBe('refresh-123');
    expect(lookupCredential(c, 'helper.example')).toBeUndefined();
    expect(lookupCredential(c, 'gcr.io')).toBeUndefined();
    expect(lookupCredential(c, 'b.example')).toBeUndefined(); // the port is part of the key
  });

  it('the bare Kubernetes map', () => {
    const c = parseAuthFile(JSON.stringify({ 'https://k8s.example/v1/': { username: 'kube', password: SECRET, auth: b64(`kube:${SECRET}`) } }));
    expect(lookupCredential(c, 'k8s.example')).toMatchObject({ username: 'kube', password: SECRET });
  });

  it('auth.json namespace keys: the most specific match wins', () => {
    const c = parseAuthFile(
      JSON.stringify({
        auths: {
          'quay.io': { auth: b64('host:p1') },
          'quay.io/org': { auth: b64('org:p2') },
          'quay.io/org/repo': { auth: b64('repo:p3') },
        },
      }),
    );
    expect(lookupCredential(c, 'quay.io', 'org/repo')?.username).toBe('repo');
    expect(lookupCredential(c, 'quay.io', 'org/repo/sub')?.username).toBe('repo');
    expect(lookupCredential(c, 'quay.io', 'org/other')?.username).toBe('org');
    expect(lookupCredential(c, 'quay.io', 'orgx/repo')?.username).toBe('host');
    expect(lookupCredential(c, 'quay.io')?.username).toBe('host');
  });

  it('bad entries are typed errors naming file and key, never the secret', () => {
    const cases: unknown[] = [
      { auths: { 'x.example': { auth: b64(`nocolon${SECRET}`) } } },
      { auths: { 'x.example': { username: 'u' } } },
      { auths: { 'x.example': { password: SECRET } } },
      { auths: { '^#bad/v1/': { auth: b64(`u:${SECRET}`) } } },
      { auths: { 'x.example': { auth: 42 } } },
      { auths: [] },
    ];
    for (const doc of cases) {
      let err: unknown;
      try {
        parseAuthFile(JSON.stringify(doc), '/etc/some/auth.json');
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(doc)).toBeInstanceOf(InvalidCredentialsError);
      const msg = (err as Error).message;
      expect(msg).toContain('/etc/some/auth.json');
      expect(msg).not.toContain(SECRET);
      expect(msg).not.toContain(b64(`nocolon${SECRET}`));
    }
    let err: unknown;
    try {
      parseAuthFile(`{"auths": {"x": {"password": "${SECRET}"`, '/f.json');
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).not.toContain(SECRET);
    expect((err as InvalidCredentialsError).code).toBe('ERR_INVALID_CREDENTIALS');
  });
});

describe('secrets stay hidden', () => {
  it('JSON.stringify, String(), util.inspect and template strings never show the password or token', () => {
    const c = new RegistryCredential('alice', SECRET, 'refresh-SECRET-token');
    expect(c.password).toBe(SECRET);
    for (const shown of [JSON.stringify(c), String(c), `${c}`, util.inspect(c), util.inspect({ nested: [c] }, { depth: 5 }), util.format('%o', c)]) {
      expect(shown).not.toContain(SECRET);
      expect(shown).not.toContain('refresh-SECRET-token');
      expect(shown).toContain('alice');
    }
    expect(Object.keys(c)).toEqual(['username']);
  });
});

describe('FileCredentialSource', () => {
  let scratch: ReturnType<typeof makeTempDir>;
  afterEach(() => scratch?.cleanup());
  const write = (file: string, auths: Record<string, unknown>) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ auths }));
  };

  it('default lookup order: REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, XDG_CONFIG_HOME, DOCKER_CONFIG (else ~/.docker), ~/.dockercfg; the first that has the host wins', async () => {
    scratch = makeTempDir();
    const d = scratch.dir;
    const env = { REGISTRY_AUTH_FILE: path.join(d, 'raf.json'), XDG_RUNTIME_DIR: path.join(d, 'xdg'), DOCKER_CONFIG: path.join(d, 'dc') };
    const homedir = path.join(d, 'home');
    expect(authFileCandidates({ env, homedir })).toEqual([
      path.join(d, 'raf.json'),
      path.join(d, 'xdg', 'containers', 'auth.json'),
      path.join(d, 'home', '.config', 'containers', 'auth.json'),
      path.join(d, 'dc', 'config.json'),
      path.join(d, 'home', '.dockercfg'),
    ]);
    const src = new FileCredentialSource({ env, homedir });
    expect(await src.get('r.example')).toBeUndefined();
    fs.mkdirSync(homedir, { recursive: true });
    fs.writeFileSync(path.join(homedir, '.dockercfg'), JSON.stringify({ 'https://r.example/v1/': { auth: b64('legacy:p') } }));
    expect((await src.get('r.example'))?.username).toBe('legacy');
    write(path.join(d, 'dc', 'config.json'), { 'r.example': { auth: b64('dockerconfig:p') } });
    expect((await src.get('r.example'))?.username).toBe('dockerconfig');
    write(path.join(homedir, '.config', 'containers', 'auth.json'), { 'r.example': { auth: b64('xdgconfig:p') } });
    expect((await src.get('r.example'))?.username).toBe('xdgconfig');
    write(path.join(d, 'xdg', 'containers', 'auth.json'), { 'r.example': { auth: b64('xdg:p') } });
    expect((await src.get('r.example'))?.username).toBe('xdg');
    write(path.join(d, 'raf.json'), { 'r.example': { auth: b64('raf:p') } });
    expect((await src.get('r.example'))?.username).toBe('raf');
    // An explicit authFile overrides the environment, and a missing one is an error.
    write(path.join(d, 'explicit.json'), { 'r.example': { auth: b64('explicit:p') } });
    expect((await new FileCredentialSource({ authFile: path.join(d, 'explicit.json'), env, homedir }).get('r.example'))?.username).toBe('explicit');
    await expect(new FileCredentialSource({ authFile: path.join(d, 'missing.json') }).get('r.example')).rejects.toMatchObject({
      code: 'ERR_INVALID_CREDENTIALS',
    });
  });

  it('an explicit auth file is checked when the client is built; default locations may be missing', async () => {
    scratch = makeTempDir();
    const d = scratch.dir;
    fs.writeFileSync(path.join(d, 'malformed.json'), '{"auths": {"r.example": {"auth": "not base64!"}}}');
    fs.writeFileSync(path.join(d, 'not-json.json'), 'nope');
    for (const [file, says] of [
      [path.join(d, 'missing.json'), 'does not exist'],
      [path.join(d, 'malformed.json'), 'not base64'],
      [path.join(d, 'not-json.json'), 'not valid JSON'],
      [d, 'cannot be read (EISDIR)'],
      ['', 'name is empty'],
    ] as const) {
      let err: unknown;
      try {
        new RegistryClient({ authFile: file });
      } catch (e) {
        err = e;
      }
      expect(err, file).toBeInstanceOf(InvalidCredentialsError);
      expect((err as Error).message, file).toContain(says);
      expect(() => new FileCredentialSource({ authFile: file }).check(), file).toThrow(InvalidCredentialsError);
    }
    // Both ways of giving credentials: one would be ignored.
    expect(() => new RegistryClient({ authFile: path.join(d, 'missing.json'), credentials: false })).toThrow(InvalidArgumentError);
    // The default lookup: nothing there is fine, at build time and when asked.
    const home = path.join(d, 'home');
    const defaults = new FileCredentialSource({ env: {}, homedir: home });
    expect(() => defaults.check()).not.toThrow();
    expect(await defaults.get('r.example')).toBeUndefined();
    await new RegistryClient().close();
  });

  it('re-reads the file when its mtime changes', async () => {
    scratch = makeTempDir();
    const file = path.join(scratch.dir, 'auth.json');
    write(file, { 'r.example': { auth: b64('first:p') } });
    const src = new FileCredentialSource({ authFile: file });
    expect((await src.get('r.example'))?.username).toBe('first');
    write(file, { 'r.example': { auth: b64('second:p') } });
    // Same size content; force a distinct mtime so the change is visible whatever the filesystem's resolution.
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect((await src.get('r.example'))?.username).toBe('second');
    fs.rmSync(file);
    await expect(src.get('r.example')).rejects.toMatchObject({ code: 'ERR_INVALID_CREDENTIALS' });
  });
});
