/**
 * Properties of what the registry client reads from a registry: `WWW-Authenticate` challenges, `Link`,
 * `Content-Range`, the `{"errors": [...]}` body, `Retry-After`, token responses; and of the URLs it shows
 * (`safeUrl`: no secret query value, no userinfo, ever). Any input gives a value (these parsers never throw).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseWWWAuthenticate, type Challenge } from '../../src/registry/auth/challenge.js';
import { parseTokenResponse } from '../../src/registry/auth/token.js';
import { MAX_REGISTRY_MESSAGE_CHARS } from '../../src/registry/options.js';
import { parseContentRange, parseErrorBody, parseNextLink } from '../../src/registry/transport/headers.js';
import { safeUrl } from '../../src/registry/transport/redact.js';
import { parseRetryAfter } from '../../src/registry/transport/retry.js';
import { PROTO_KEYS, anyString, hostileJsonText, mutated, runs, withField } from './support.js';

const headerValue = (valid: fc.Arbitrary<string>) =>
  fc.oneof(mutated(valid), anyString(200), fc.array(fc.oneof(mutated(valid), anyString(50)), { maxLength: 3 }));

describe('WWW-Authenticate', () => {
  const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,8}$/);
  const challenge = fc.record({
    scheme: fc.oneof(fc.constantFrom('Bearer', 'Basic', 'bearer'), token),
    params: fc.uniqueArray(fc.tuple(fc.oneof(token, fc.constantFrom('realm', 'service', 'scope', 'error', ...PROTO_KEYS)), anyString(30)), {
      maxLength: 4,
      selector: ([name]) => name.toLowerCase(),
    }),
  });
  const quote = (v: string) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  const format = (cs: { scheme: string; params: [string, string][] }[]) =>
    cs.map((c) => `${c.scheme}${c.params.length ? ' ' : ''}${c.params.map(([n, v]) => `${n}=${quote(v)}`).join(', ')}`).join(', ');

  it('any value gives challenges with a lowercase scheme and string parameters', () => {
    fc.assert(
      fc.property(headerValue(fc.array(challenge, { minLength: 1, maxLength: 3 }).map(format)), (h) => {
        for (const c of parseWWWAuthenticate(h)) {
          expect(c.scheme).toMatch(/^[!#$%&'*+.^_`|~0-9a-z-]+$/);
          for (const [name, value] of Object.entries(c.params)) {
            expect(name).toBe(name.toLowerCase());
            expect(typeof value).toBe('string');
          }
        }
      }),
      runs(0xc4a1, 400),
    );
  });

  it('challenges with quoted parameters parse back to what was sent', () => {
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), (cs) => {
        const want: Challenge[] = cs.map((c) => ({
          scheme: c.scheme.toLowerCase(),
          params: Object.fromEntries(c.params.map(([n, v]) => [n.toLowerCase(), v])),
        }));
        const got = parseWWWAuthenticate(format(cs)).map((c) => ({ scheme: c.scheme, params: Object.fromEntries(Object.entries(c.params)) }));
        expect(got).toEqual(want);
      }),
      runs(0xc4a2, 500),
    );
  });
});

describe('Link', () => {
  const url = fc.oneof(fc.webUrl({ withQueryParameters: true }), fc.constantFrom('/v2/x/tags/list?n=10&last=b', '/v2/_catalog?last=a%2Cb'));
  const link = fc.record({ url, rel: fc.constantFrom('next', '"next"', 'prev', 'NEXT', 'last'), extra: fc.constantFrom('', '; type="x"', ';title="a,b"') });
  const format = (ls: { url: string; rel: string; extra: string }[]) => ls.map((l) => `<${l.url}>; rel=${l.rel}${l.extra}`).join(', ');

  it('any value gives a string or undefined; a next link among others is found', () => {
    fc.assert(
      fc.property(headerValue(fc.array(link, { maxLength: 3 }).map(format)), (h) => {
        const next = parseNextLink(h);
        expect(next === undefined || typeof next === 'string').toBe(true);
      }),
      runs(0x11a1, 500),
    );
    fc.assert(
      fc.property(fc.array(link, { minLength: 1, maxLength: 4 }), (ls) => {
        const first = ls.find((l) => /^"?next"?$/i.test(l.rel));
        expect(parseNextLink(format(ls))).toBe(first?.url);
      }),
      runs(0x11a2, 500),
    );
  });
});

describe('Content-Range', () => {
  const n = fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }), fc.bigInt({ min: 0n, max: 10n ** 30n }));
  const range = fc.tuple(n, n, fc.option(n)).map(([a, b, t]) => `bytes ${a}-${b}/${t ?? '*'}`);

  it('any value gives undefined or the header\'s exact numbers (safe integers)', () => {
    fc.assert(
      fc.property(fc.oneof(mutated(range), anyString(60)), (v) => {
        const r = parseContentRange(v);
        if (r === undefined) return;
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim())!;
        for (const [got, text] of [[r.start, m[1]], [r.end, m[2]], [r.total, m[3]]] as const) {
          if (text === '*') expect(got).toBeUndefined();
          else {
            expect(Number.isSafeInteger(got)).toBe(true);
            expect(BigInt(got!)).toBe(BigInt(text!));
          }
        }
      }),
      runs(0xc3a1, 1000),
    );
  });
});

describe('the registry error body', () => {
  const body = fc
    .record({ code: fc.oneof(fc.constantFrom('MANIFEST_UNKNOWN', 'DENIED'), anyString(20)), message: anyString(400), detail: fc.json({ maxDepth: 2 }) })
    .map((e) => JSON.stringify({ errors: [e] }));
  const hostile = fc.oneof(
    body,
    fc.tuple(body, hostileJsonText).map(([b, v]) => withField(JSON.parse(b) as object, 'errors', v)),
    hostileJsonText.map((v) => `{"errors":[{"code":${v},"message":${v}}]}`),
  );

  it('any bytes give at most a string code and a bounded string message', () => {
    fc.assert(
      fc.property(fc.oneof(mutated(hostile).map((s) => Buffer.from(s)), fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b))), (buf) => {
        const r = parseErrorBody(buf);
        expect(Object.keys(r).every((k) => k === 'code' || k === 'message')).toBe(true);
        if (r.code !== undefined) expect(typeof r.code).toBe('string');
        if (r.message !== undefined) expect(r.message.length).toBeLessThanOrEqual(MAX_REGISTRY_MESSAGE_CHARS);
      }),
      runs(0xeb1, 500),
    );
  });
});

describe('Retry-After', () => {
  const now = Date.UTC(2025, 0, 1);
  const date = fc.date({ min: new Date(0), max: new Date(Date.UTC(2100, 0, 1)), noInvalidDate: true });
  const value = fc.oneof(fc.nat().map(String), date.map((d) => d.toUTCString()), fc.constantFrom('9'.repeat(400), '1.5', '-3', ' 120 '));

  it('any value gives undefined or a delay >= 0 (never NaN); seconds and dates give the delay they say', () => {
    fc.assert(
      fc.property(headerValue(value), (v) => {
        const ms = parseRetryAfter(v, now);
        if (ms !== undefined) expect(ms).toBeGreaterThanOrEqual(0);
      }),
      runs(0x7a1, 1000),
    );
    fc.assert(
      fc.property(fc.nat(), date, (s, d) => {
        expect(parseRetryAfter(String(s), now)).toBe(s * 1000);
        expect(parseRetryAfter(d.toUTCString(), now)).toBe(Math.max(0, Math.floor(d.getTime() / 1000) * 1000 - now));
      }),
      runs(0x7a2, 300),
    );
  });
});

describe('token responses', () => {
  const response = fc.record(
    { token: anyString(20), access_token: anyString(20), expires_in: fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant(null)) },
    { requiredKeys: [] },
  );

  it('any value gives undefined or a non-empty token with a finite positive lifetime', () => {
    fc.assert(
      fc.property(fc.oneof(response, fc.anything({ withNullPrototype: true, withBigInt: true })), (body) => {
        const r = parseTokenResponse(body);
        if (r === undefined) return;
        expect(typeof r.token === 'string' && r.token !== '').toBe(true);
        expect(Number.isFinite(r.expiresIn) && r.expiresIn > 0).toBe(true);
      }),
      runs(0x70c1, 500),
    );
  });
});

describe('safeUrl', () => {
  const alnum = (max: number) => fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: max });
  // Secret markers are uppercase: nothing else in these URLs is, so finding one in the output is a leak.
  const secret = alnum(8).map((s) => `SECRETX${s}`);
  const secretName = fc
    .tuple(fc.constantFrom('sig', 'X-Amz-Signature', 'access_token', 'token', 'X-Goog-Credential', 'se', 'sp', 'sv', 'key', 'apikey', 'auth', 'Policy', 'client_secret'), fc.nat(), fc.boolean())
    .map(([name, at, encode]) => {
      // The same name as a server reads it, spelt another way: another case, or one character percent-encoded.
      const i = at % name.length;
      return encode ? `${name.slice(0, i)}%${name.charCodeAt(i).toString(16).toUpperCase()}${name.slice(i + 1)}` : name.toUpperCase();
    });
  const param = fc.oneof(
    fc.tuple(secretName, secret).map(([n, v]) => ({ n, v, secret: true })),
    fc.tuple(fc.constantFrom('n', 'last', 'digest', 'mount', 'from'), alnum(10)).map(([n, v]) => ({ n, v, secret: false })),
  );
  const url = fc.record({
    scheme: fc.constantFrom('https', 'http'),
    user: fc.option(secret),
    password: fc.option(secret),
    host: fc.constantFrom('registry.example', 'cdn.example:8443', '127.0.0.1:5000', '[::1]'),
    path: fc.array(alnum(6), { maxLength: 3 }).map((p) => `/${p.join('/')}`),
    params: fc.array(param, { maxLength: 4 }),
    hash: fc.option(secret),
  });

  it('never shows userinfo, a fragment, or the value of a secret-like query parameter', () => {
    fc.assert(
      fc.property(url, fc.constantFrom('same', 'other', 'none'), (u, originKind) => {
        const userinfo = u.user === null && u.password === null ? '' : `${u.user ?? ''}${u.password === null ? '' : `:${u.password}`}@`;
        const query = u.params.length ? `?${u.params.map((p) => `${p.n}=${p.v}`).join('&')}` : '';
        const parsed = new URL(`${u.scheme}://${userinfo}${u.host}${u.path}${query}${u.hash === null ? '' : `#${u.hash}`}`);
        const origin = originKind === 'same' ? parsed.origin : originKind === 'other' ? 'https://elsewhere.example' : undefined;
        const shown = safeUrl(parsed, origin);
        expect(shown).not.toMatch(/SECRETX/i);
        expect(shown).not.toContain('#');
        // On the registry's own origin the harmless parameters stay, to help diagnose.
        if (originKind === 'same') for (const p of u.params.filter((q) => !q.secret)) expect(shown).toContain(`${p.n}=${p.v}`);
      }),
      runs(0x5a1, 1000),
    );
  });

  it('any URL is shown without throwing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), mutated(fc.webUrl({ withQueryParameters: true }))), fc.boolean(), (s, same) => {
        if (!URL.canParse(s)) return;
        const u = new URL(s);
        expect(typeof safeUrl(u, same ? u.origin : undefined)).toBe('string');
      }),
      runs(0x5a2, 500),
    );
  });
});
