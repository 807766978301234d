/**
 * Properties of reading credentials: docker/containers auth files (`parseAuthFile`) and their keys
 * (`parseAuthKey`). Any text gives credentials or ERR_INVALID_CREDENTIALS, keys normalise to what reparses the
 * same, and no secret is ever shown: not in an error's message, not in the parsed result printed or serialised.
 */
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MoteError } from '../../src/errors.js';
import { parseAuthFile, parseAuthKey } from '../../src/registry/auth/auth-file.js';
import { PROTO_KEYS, anyString, hostileJsonText, mutated, outcome, runs } from './support.js';

const CODES = ['ERR_INVALID_CREDENTIALS'];
const alnum = (max: number) => fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: max });
const host = fc.oneof(
  fc.constantFrom('docker.io', 'index.docker.io', 'https://index.docker.io/v1/', 'registry-1.docker.io', 'localhost:5000', '[::1]:5000', 'Quay.IO', 'http://gcr.io/v2'),
  fc.tuple(alnum(8), fc.constantFrom('.io', '.example:8443', '')).map(([a, b]) => a + b),
);
const key = fc.oneof(host, fc.tuple(host, fc.array(alnum(6), { minLength: 1, maxLength: 3 })).map(([h, ns]) => `${h}/${ns.join('/')}`));

describe('auth-file keys', () => {
  it('parseAuthKey: a lowercase host (and namespace) that reparses to the same, or ERR_INVALID_CREDENTIALS', () => {
    fc.assert(
      fc.property(fc.oneof(mutated(key), anyString(80), fc.constantFrom(...PROTO_KEYS)), (k) => {
        const r = outcome(() => parseAuthKey(k), CODES);
        if (r instanceof MoteError) return;
        expect(r.host).toBe(r.host.toLowerCase());
        expect(parseAuthKey(r.host)).toEqual({ host: r.host, namespace: undefined });
        if (r.namespace !== undefined) expect(parseAuthKey(`${r.host}/${r.namespace}`)).toEqual(r);
      }),
      runs(0xa7c1, 1000),
    );
  });
});

describe('auth files', () => {
  // Secrets are uppercase markers: nothing else in these files is, so finding one in the output is a leak.
  const secret = alnum(10).map((s) => `PWSECRET${s}`);
  const entry = fc.oneof(
    fc.tuple(alnum(8), secret).map(([u, p]) => ({ auth: Buffer.from(`${u}:${p}`).toString('base64') })),
    fc.tuple(alnum(8), secret).map(([u, p]) => ({ username: u, password: p })),
    secret.map((t) => ({ identitytoken: t })),
    fc.constant({}),
    // Broken on purpose: a secret where the format is wrong, or not all that an entry needs.
    secret.map((p) => ({ auth: `${Buffer.from(p).toString('base64')}!` })),
    secret.map((p) => ({ auth: Buffer.from(p).toString('base64') })),
    secret.map((p) => ({ password: p })),
    secret.map((p) => ({ username: 1, password: p })),
  );
  const file = fc.tuple(fc.dictionary(fc.oneof(key, fc.constantFrom(...PROTO_KEYS, '', 'http://')), entry, { maxKeys: 3 }), fc.boolean()).map(([auths, wrapped]) =>
    wrapped ? { auths, credsStore: 'desktop' } : auths,
  );
  const secretsOf = (doc: unknown): string[] => JSON.stringify(doc).match(/PWSECRET[a-z0-9]+/g) ?? [];

  it('any text gives credentials by lowercase host, or ERR_INVALID_CREDENTIALS', () => {
    const text = fc.oneof(
      mutated(file.map((f) => JSON.stringify(f))),
      hostileJsonText,
      hostileJsonText.map((v) => `{"auths":${v}}`),
      hostileJsonText.map((v) => `{"auths":{"r.io":${v}}}`),
      anyString(100),
    );
    fc.assert(
      fc.property(text, (t) => {
        const r = outcome(() => parseAuthFile(t, 'auth.json'), CODES);
        if (r instanceof MoteError) return;
        for (const [h, list] of r) {
          expect(h).toBe(h.toLowerCase());
          for (const { credential } of list) expect(typeof credential.username === 'string' && typeof credential.password === 'string').toBe(true);
        }
      }),
      runs(0xa7c2, 500),
    );
  });

  it('no secret shows in an error message, nor in the parsed credentials printed or serialised', () => {
    fc.assert(
      fc.property(file, (doc) => {
        const secrets = secretsOf(doc);
        const b64 = secrets.map((s) => Buffer.from(s).toString('base64').replace(/=+$/, ''));
        const r = outcome(() => parseAuthFile(JSON.stringify(doc), 'auth.json'), CODES);
        const shown = r instanceof MoteError ? `${r.message} ${inspect(r)} ${JSON.stringify(r)}` : `${inspect(r, { depth: 10 })} ${JSON.stringify([...r])}`;
        for (const s of [...secrets, ...b64]) expect(shown).not.toContain(s);
      }),
      runs(0xa7c3, 500),
    );
  });
});
