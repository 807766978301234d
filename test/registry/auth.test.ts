/**
 * Authentication and the small parsers of the registry client, unit-tested (challenges, the token cache with an
 * injected clock, Link, bodies, URLs in messages); then token expiry and a refused token against a real token
 * server and a real registry. The FaultInjectingProxy (a hand-written fake) only adds what a real registry cannot
 * be made to do on demand: challenge with a token server of the test's choosing, and refuse one given token.
 */
import { Readable } from 'node:stream';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { digestOf } from '../../src/index.js';
import { Authenticator, type FetchToken } from '../../src/registry/auth/authenticator.js';
import { parseWWWAuthenticate } from '../../src/registry/auth/challenge.js';
import { BoundedBody } from '../../src/registry/transport/body.js';
import { safeUrl } from '../../src/registry/transport/redact.js';
import { RegistryClient, type RegistryEvent } from '../../src/registry/index.js';
import { parseContentRange, parseNextLink } from '../../src/registry/transport/headers.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';
import { FaultInjectingProxy } from '../helpers/fault-proxy.js';
import { randomData, readAll } from '../helpers/tmp.js';

describe('parseWWWAuthenticate', () => {
  it('Bearer with quoted parameters (commas and escapes inside quotes), names lowercased', () => {
    expect(
      parseWWWAuthenticate('Bearer realm="https://auth.example/token",Service="reg.example",scope="repository:a/b:pull,push",error="invalid_token"'),
    ).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'reg.example', scope: 'repository:a/b:pull,push', error: 'invalid_token' } },
    ]);
    expect(parseWWWAuthenticate('Basic realm="say \\"hi\\""')).toEqual([{ scheme: 'basic', params: { realm: 'say "hi"' } }]);
  });
  it('several challenges in one value or several values; unquoted values; empty input', () => {
    expect(parseWWWAuthenticate('Basic realm=x, Bearer realm="r", service=s')).toEqual([
      { scheme: 'basic', params: { realm: 'x' } },
      { scheme: 'bearer', params: { realm: 'r', service: 's' } },
    ]);
    expect(parseWWWAuthenticate(['Basic realm="a"', 'Bearer realm="b"']).map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(parseWWWAuthenticate(undefined)).toEqual([]);
    expect(parseWWWAuthenticate('')).toEqual([]);
    // Garbage gives what could be read, never a throw.
    expect(() => parseWWWAuthenticate('Bearer realm="unterminated')).not.toThrow();
  });

  // Found by test/properties/registry-headers.test.ts: a parameter named __proto__ was assigned, which tried to
  // set the prototype of params, and was lost.
  it('keeps parameters named like members of every object as parameters', () => {
    const [c] = parseWWWAuthenticate('Bearer realm="r", __proto__="p", constructor=c');
    expect(Object.entries(c!.params)).toEqual([['realm', 'r'], ['__proto__', 'p'], ['constructor', 'c']]);
    expect(Object.getPrototypeOf(c!.params)).toBe(Object.prototype);
  });
});

describe('Authenticator (clock injected)', () => {
  const challenge = 'Bearer realm="https://auth.example/token",service="svc",scope="repository:app:pull"';
  function make(expiresIn: number) {
    let now = 1_000_000;
    let n = 0;
    const asked: string[][] = [];
    const fetchToken: FetchToken = async ({ scopes }) => {
      asked.push([...scopes]);
      return { token: `t${++n}`, expiresIn };
    };
    const a = new Authenticator(fetchToken, async () => undefined, () => now);
    a.learn('reg', challenge);
    return { a, asked, advance: (ms: number) => (now += ms) };
  }

  it('a token is reused until its expiry less the margin (10% of its life, 1 s to 30 s), then fetched again', async () => {
    const { a, asked, advance } = make(60); // margin 6 s: usable for 54 s
    expect(await a.header('reg', ['repository:app:pull'], 'app')).toEqual({ value: 'Bearer t1', fresh: true, scopes: ['repository:app:pull'] });
    advance(53_999);
    expect((await a.header('reg', ['repository:app:pull'], 'app')).value).toBe('Bearer t1');
    advance(1);
    expect((await a.header('reg', ['repository:app:pull'], 'app')).value).toBe('Bearer t2');
    expect(asked).toHaveLength(2);
  });

  it('a token living less than the 1 s minimum margin is never reused', async () => {
    const { a } = make(1);
    expect((await a.header('reg', ['repository:app:pull'], 'app')).value).toBe('Bearer t1');
    expect((await a.header('reg', ['repository:app:pull'], 'app')).value).toBe('Bearer t2');
  });

  it('without scopes of its own a request uses the challenge scope, and invalidate drops that same token', async () => {
    const { a, asked } = make(300);
    const h = await a.header('reg', [], undefined);
    expect(h).toMatchObject({ value: 'Bearer t1', scopes: ['repository:app:pull'] });
    expect(asked).toEqual([['repository:app:pull']]);
    // A request with that scope shares the cache entry.
    expect((await a.header('reg', ['repository:app:pull'], 'app')).value).toBe('Bearer t1');
    a.invalidate('reg', []);
    expect((await a.header('reg', [], undefined)).value).toBe('Bearer t2');
    // Invalidating one scope leaves the others.
    await a.header('reg', ['repository:other:pull'], 'other');
    a.invalidate('reg', ['repository:app:pull']);
    expect((await a.header('reg', ['repository:other:pull'], 'other')).fresh).toBe(false);
    expect((await a.header('reg', ['repository:app:pull'], 'app')).value).toBe('Bearer t4');
  });

  it('concurrent requests share one fetch; one caller aborting fails only itself', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let fetches = 0;
    const a = new Authenticator(async () => {
      fetches++;
      await gate;
      return { token: 'shared', expiresIn: 300 };
    }, async () => undefined);
    a.learn('reg', challenge);
    const ac = new AbortController();
    const first = a.header('reg', ['repository:app:pull'], 'app', ac.signal);
    const second = a.header('reg', ['repository:app:pull'], 'app');
    ac.abort();
    await expect(first).rejects.toMatchObject({ code: 'ABORT_ERR' });
    release();
    expect((await second).value).toBe('Bearer shared');
    expect(fetches).toBe(1);
  });
});

describe('parseNextLink', () => {
  it('finds rel="next" among links, quoted or not, in one or several values', () => {
    expect(parseNextLink('</v2/a/tags/list?n=2&last=b>; rel="next"')).toBe('/v2/a/tags/list?n=2&last=b');
    expect(parseNextLink('<https://x/prev>; rel="prev", <https://x/next>; rel=next')).toBe('https://x/next');
    expect(parseNextLink(['<https://x/first>; rel="first"', '<https://x/n>; rel="next"'])).toBe('https://x/n');
    expect(parseNextLink('<https://x/a,b>; rel="next"')).toBe('https://x/a,b');
    expect(parseNextLink('<https://x/prev>; rel="prev"')).toBeUndefined();
    expect(parseNextLink(undefined)).toBeUndefined();
    expect(parseNextLink('garbage')).toBeUndefined();
  });
});

describe('parseContentRange', () => {
  it('reads bytes a-b/total, total known or not', () => {
    expect(parseContentRange('bytes 0-99/100')).toEqual({ start: 0, end: 99, total: 100 });
    expect(parseContentRange(' bytes 5-9/* ')).toEqual({ start: 5, end: 9, total: undefined });
    expect(parseContentRange(`bytes 0-${2 ** 53 - 2}/${2 ** 53 - 1}`)).toEqual({ start: 0, end: 2 ** 53 - 2, total: 2 ** 53 - 1 });
    for (const bad of [undefined, '', 'bytes 0-9', 'bytes -1-9/10', 'items 0-9/10', 'bytes 0-9/10/11']) expect(parseContentRange(bad)).toBeUndefined();
  });

  // Found by test/properties/registry-headers.test.ts: numbers past 2^53 came back rounded (9007199254740993 as
  // ...992), so a registry's range could pass for another than the one it named.
  it('gives no parse for numbers it cannot hold exactly', () => {
    expect(parseContentRange('bytes 0-9007199254740992/*')).toBeUndefined();
    expect(parseContentRange('bytes 9007199254740993-9007199254740993/9007199254740994')).toBeUndefined();
    expect(parseContentRange(`bytes 0-9/${'9'.repeat(400)}`)).toBeUndefined();
  });
});

describe('BoundedBody', () => {
  const short = (delivered: number) => Object.assign(new Error(`short after ${delivered}`), { code: 'SHORT' });
  const source = (chunks: Buffer[]) => Readable.from(chunks, { objectMode: false });

  it('skips, delivers exactly length bytes, and releases a source with more to give', async () => {
    const data = randomData(10_000);
    const src = source([data.subarray(0, 3000), data.subarray(3000, 7000), data.subarray(7000)]);
    const seen: number[] = [];
    const body = new BoundedBody(src, { skip: 2500, length: 1000, onBytes: (n) => seen.push(n), shortError: short });
    expect((await readAll(body)).equals(data.subarray(2500, 3500))).toBe(true);
    expect(seen[0]).toBe(3000);
    expect(src.destroyed).toBe(true);
  });

  it('a source that ends early errors the body (never a silent short read)', async () => {
    const body = new BoundedBody(source([Buffer.alloc(100)]), { skip: 0, length: 200, shortError: short });
    await expect(readAll(body)).rejects.toMatchObject({ code: 'SHORT', message: 'short after 100' });
  });

  it('a source error is mapped (mapError), else reported through shortError with the cause', async () => {
    const failing = () =>
      new Readable({
        read() {
          this.destroy(Object.assign(new Error('socket'), { code: 'UND_ERR_SOCKET' }));
        },
      });
    const mapped = new BoundedBody(failing(), { skip: 0, length: 10, shortError: short, mapError: () => Object.assign(new Error('mapped'), { code: 'MAPPED' }) });
    await expect(readAll(mapped)).rejects.toMatchObject({ code: 'MAPPED' });
    const unmapped = new BoundedBody(failing(), { skip: 0, length: 10, shortError: short, mapError: () => undefined });
    await expect(readAll(unmapped)).rejects.toMatchObject({ code: 'SHORT' });
  });

  it('a throwing onBytes listener neither fails the body nor escapes as an uncaught exception', async () => {
    const data = randomData(5000);
    const body = new BoundedBody(source([data.subarray(0, 2000), data.subarray(2000)]), {
      skip: 0,
      length: data.length,
      onBytes: () => {
        throw new Error('listener bug');
      },
      shortError: short,
    });
    expect((await readAll(body)).equals(data)).toBe(true);
  });

  it('length 0 ends at once', async () => {
    expect(await readAll(new BoundedBody(source([Buffer.alloc(10)]), { skip: 0, length: 0, shortError: short }))).toHaveLength(0);
  });
});

describe('safeUrl: URLs as events and errors show them', () => {
  const registry = 'https://reg.example';
  it('another origin (a CDN, S3) loses its whole query; userinfo and fragments go everywhere', () => {
    const signed = new URL('https://bucket.s3.amazonaws.com/blob?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIA%2F&X-Amz-Signature=deadbeef&X-Amz-Expires=60');
    expect(safeUrl(signed, registry)).toBe('https://bucket.s3.amazonaws.com/blob?<redacted>');
    expect(safeUrl(signed)).toBe('https://bucket.s3.amazonaws.com/blob?<redacted>');
    expect(safeUrl(new URL('https://u:p@reg.example/v2/#frag'), registry)).toBe('https://reg.example/v2/');
  });
  it("the registry's own origin keeps harmless parameters and redacts signature-like ones", () => {
    expect(safeUrl(new URL('https://reg.example/v2/a/tags/list?n=2&last=b'), registry)).toBe('https://reg.example/v2/a/tags/list?n=2&last=b');
    const shown = safeUrl(new URL('https://reg.example/v2/a/blobs/x?sig=abc&token=tok&n=1'), registry);
    expect(shown).not.toContain('abc');
    expect(shown).not.toContain('tok&');
    expect(shown).toContain('n=1');
  });
});

const skip = registryUnavailableReason();

describe.skipIf(skip)('Bearer tokens: expiry and refusal (real token server and registry; challenge injected by the proxy)', () => {
  let reg: RegistryHandle;
  let img: { digest: string; data: Buffer };
  const repoPath = 'auth/app';
  const scope = `repository:${repoPath}:pull`;
  beforeAll(async () => {
    reg = await startRegistry();
    const c = new RegistryClient({ credentials: false });
    const data = randomData(2000);
    await c.pushBlob(`${reg.host}/${repoPath}`, digestOf(data), data);
    img = { digest: digestOf(data), data };
    await c.close();
  }, 120_000);
  afterAll(async () => reg?.stop());

  /**
   * A proxy in front of the plain registry that asks for a Bearer token from `ts` (and refuses a token in
   * `refused`, as a registry does with a revoked one); requests that carry another token pass to the registry.
   */
  async function setup(expiresInSeconds: number) {
    const ts: TokenServer = await startTokenServer({ users: {}, anonymousPull: true, expiresInSeconds });
    const refused = new Set<string>();
    const seen: string[] = [];
    const challenge = `Bearer realm="${ts.realm}",service="${ts.service}",scope="${scope}"`;
    const proxy = await FaultInjectingProxy.start(reg.host, (r) => {
      const auth = r.headers.authorization;
      if (auth) seen.push(auth);
      if (!auth?.startsWith('Bearer ') || refused.has(auth.slice(7))) {
        return { status: 401, headers: { 'www-authenticate': `${challenge}${auth ? ',error="invalid_token"' : ''}`, 'content-type': 'application/json' }, body: '{"errors":[{"code":"UNAUTHORIZED"}]}' };
      }
      return 'pass';
    });
    return {
      ts,
      proxy,
      refused,
      seen,
      stop: async () => {
        await proxy.stop();
        await ts.stop();
      },
    };
  }

  it('a token whose life is shorter than the safety margin is fetched again for each request', async () => {
    const s = await setup(1);
    const c = new RegistryClient({ credentials: false });
    try {
      for (let i = 0; i < 3; i++) await c.headBlob(`${s.proxy.host}/${repoPath}`, img.digest);
      expect(s.ts.issued).toBe(3);
    } finally {
      await c.close();
      await s.stop();
    }
  });

  it('a long-lived token is fetched once and reused', async () => {
    const s = await setup(300);
    const c = new RegistryClient({ credentials: false });
    try {
      for (let i = 0; i < 3; i++) await c.headBlob(`${s.proxy.host}/${repoPath}`, img.digest);
      expect(s.ts.issued).toBe(1);
    } finally {
      await c.close();
      await s.stop();
    }
  });

  it('a refused (revoked) token is dropped and fetched again once, also for a request without scopes (ping)', async () => {
    const s = await setup(300);
    const events: RegistryEvent[] = [];
    const c = new RegistryClient({ credentials: false, onEvent: (e) => events.push(e) });
    try {
      const blob = await c.getBlob(`${s.proxy.host}/${repoPath}`, img.digest);
      expect((await readAll(blob.body)).equals(img.data)).toBe(true);
      expect(s.ts.issued).toBe(1);
      // The registry revokes the token. ping has no scopes of its own: it sends the token cached under the
      // challenge's scope, and on the refusal it must drop that very token (not the empty-scope one).
      s.refused.add(s.seen.at(-1)!.slice(7));
      expect(await c.ping(s.proxy.host)).toEqual({ apiVersion: 'registry/2.0' });
      expect(s.ts.issued).toBe(2);
      // The new token serves the repository requests too: no further fetch.
      await c.headBlob(`${s.proxy.host}/${repoPath}`, img.digest);
      expect(s.ts.issued).toBe(2);
      // Tokens never appear in events.
      expect(JSON.stringify(events)).not.toMatch(/eyJ/);
    } finally {
      await c.close();
      await s.stop();
    }
  });
});
