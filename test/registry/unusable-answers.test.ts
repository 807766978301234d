/**
 * Answers the client cannot use say what is wrong with them, never something else: an unusable auth challenge is
 * reported as the challenge (not as missing credentials the user has), an answer over its size limit as too large
 * (not as empty or malformed). A real registry behind the FaultInjectingProxy (a hand-written fake, for answers a
 * real registry cannot be made to give); the oversized token answers come from a small server written here, as a
 * broken or hostile token server would send them.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/index.js';
import { Authenticator } from '../../src/registry/auth/authenticator.js';
import { RegistryAuthError, RegistryClient, RegistryProtocolError } from '../../src/registry/index.js';
import { MAX_ERROR_BODY_BYTES, MAX_JSON_BYTES, MAX_MANIFEST_BYTES } from '../../src/registry/options.js';
import { FaultInjectingProxy } from '../helpers/fault-proxy.js';
import { registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir, randomData } from '../helpers/tmp.js';

describe('Authenticator.learn: what is wrong with a challenge', () => {
  const learn = (h: string | string[] | undefined) => new Authenticator(async () => ({ token: 't', expiresIn: 60 }), async () => undefined).learn('r', h);
  it('usable: Bearer with a URL realm, Basic; Basic is used when the Bearer challenge beside it has no realm', () => {
    expect(learn('Bearer realm="https://auth.example/token",service="s"')).toEqual({ usable: true });
    expect(learn('Basic realm="x"')).toEqual({ usable: true });
    expect(learn('Bearer service="s", Basic realm="x"')).toEqual({ usable: true });
  });
  it('malformed: Bearer without a realm, with a realm that is no URL, an unreadable header', () => {
    expect(learn('Bearer service="s"')).toMatchObject({ usable: false, malformed: true, problem: expect.stringMatching(/Bearer challenge has no realm.*service=/) });
    expect(learn('Bearer realm="not a url"')).toMatchObject({ usable: false, malformed: true, problem: expect.stringContaining('realm that is not a URL') });
    expect(learn('=,=')).toMatchObject({ usable: false, malformed: true, problem: expect.stringContaining('unreadable') });
  });
  it('refusals: no challenge at all, only schemes this client does not speak', () => {
    expect(learn(undefined)).toMatchObject({ usable: false, malformed: false, problem: expect.stringContaining('no WWW-Authenticate') });
    expect(learn('Negotiate, NTLM')).toMatchObject({ usable: false, malformed: false, problem: expect.stringContaining('"negotiate", "ntlm"') });
  });
  it('quotes at most 200 characters of the header', () => {
    const r = learn(`Bearer service="${'s'.repeat(1000)}"`);
    expect(r.usable).toBe(false);
    expect((r as { problem: string }).problem.length).toBeLessThan(300);
  });
});

const skip = registryUnavailableReason();

describe.skipIf(skip)('unusable answers from a real registry behind the proxy', () => {
  let reg: RegistryHandle;
  let proxy: FaultInjectingProxy;
  let token: http.Server;
  let tokenHost: string;
  let authFile: string;
  const tmp = makeTempDir('motecache-unusable-');
  const repo = 'un/usable';
  const data = randomData(3000);
  const digest = digestOf(data);
  /** What the proxy answers to a request that carries no credentials; undefined: pass. */
  let anonymous: ((p: string) => { status: number; headers?: Record<string, string>; body?: string | Uint8Array } | undefined) | undefined;
  /** How the token server answers: its body size, and whether it declares it. */
  let tokenAnswer = { bytes: 50 << 20, declared: false };

  beforeAll(async () => {
    reg = await startRegistry();
    const c = new RegistryClient({ credentials: false });
    await c.pushBlob(`${reg.host}/${repo}`, digest, data);
    await c.close();
    proxy = await FaultInjectingProxy.start(reg.host, (r) => (!r.headers.authorization && anonymous?.(r.path)) || 'pass');
    // Credentials the user has, for the proxy's host: the errors below must not claim they are missing.
    authFile = path.join(tmp.dir, 'auth.json');
    fs.writeFileSync(authFile, JSON.stringify({ auths: { [proxy.host]: { auth: Buffer.from('me:secret').toString('base64') } } }));
    token = http.createServer((_req, res) => {
      const { bytes, declared } = tokenAnswer;
      res.writeHead(200, { 'content-type': 'application/json', ...(declared && { 'content-length': String(bytes) }) });
      const chunk = Buffer.alloc(1 << 16, 0x20);
      let sent = 0;
      const more = (): void => {
        while (sent < bytes && !res.destroyed) {
          const n = Math.min(chunk.length, bytes - sent);
          sent += n;
          if (!res.write(chunk.subarray(0, n))) return void res.once('drain', more);
        }
        res.end();
      };
      res.on('error', () => {});
      more();
    });
    await new Promise<void>((r) => token.listen(0, '127.0.0.1', r));
    tokenHost = `127.0.0.1:${(token.address() as AddressInfo).port}`;
  }, 120_000);
  afterAll(async () => {
    await proxy?.stop();
    token?.closeAllConnections();
    await new Promise((r) => token?.close(r));
    await reg?.stop();
    tmp.cleanup();
  });

  const unauthorized = (challenge: string | undefined) => () => ({
    status: 401,
    headers: { 'content-type': 'application/json', ...(challenge !== undefined && { 'www-authenticate': challenge }) },
    body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
  });

  it('a Bearer challenge without a realm, with credentials on file: a protocol error naming the challenge, not "no credentials"', async () => {
    anonymous = unauthorized('Bearer service="registry.example",scope="repository:un/usable:pull"');
    const c = new RegistryClient({ authFile });
    try {
      const err = await c.headBlob(`${proxy.host}/${repo}`, digest).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryProtocolError);
      expect((err as Error).message).toContain('Bearer challenge has no realm');
      expect((err as Error).message).toContain('service=\\"registry.example\\"');
      expect((err as Error).message).not.toContain('no credentials');
      expect((err as RegistryProtocolError).status).toBe(401);
    } finally {
      await c.close();
    }
  });

  it('no challenge, or only an unsupported scheme: a refusal that says so, with or without credentials', async () => {
    for (const [challenge, says] of [
      [undefined, 'no WWW-Authenticate challenge'],
      ['Negotiate', 'asks for "negotiate" authentication'],
    ] as const) {
      anonymous = unauthorized(challenge);
      for (const options of [{ authFile }, { credentials: false as const }]) {
        const c = new RegistryClient(options);
        try {
          const err = await c.headBlob(`${proxy.host}/${repo}`, digest).catch((e: unknown) => e);
          expect(err, says).toBeInstanceOf(RegistryAuthError);
          expect((err as Error).message).toContain(says);
          expect((err as Error).message).not.toContain('no credentials');
        } finally {
          await c.close();
        }
      }
    }
  });

  it('Basic without credentials still says that credentials are missing', async () => {
    anonymous = unauthorized('Basic realm="registry"');
    const c = new RegistryClient({ credentials: false });
    try {
      await expect(c.headBlob(`${proxy.host}/${repo}`, digest)).rejects.toThrow(/no credentials for this registry/);
    } finally {
      await c.close();
    }
  });

  it('a 50 MB token answer (streamed, or declared up front) is "over the limit", read no further than the limit', async () => {
    anonymous = unauthorized(`Bearer realm="http://${tokenHost}/token",service="svc"`);
    for (const declared of [false, true]) {
      tokenAnswer = { bytes: 50 << 20, declared };
      const c = new RegistryClient({ credentials: false });
      try {
        const err = await c.headBlob(`${proxy.host}/${repo}`, digest).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(RegistryProtocolError);
        expect((err as Error).message).toContain(`token for ${proxy.host}: the answer is over the ${MAX_ERROR_BODY_BYTES}-byte limit`);
      } finally {
        await c.close();
      }
    }
    // A token answer within the limit that has no token still says that.
    tokenAnswer = { bytes: 100, declared: true };
    const c = new RegistryClient({ credentials: false });
    try {
      await expect(c.headBlob(`${proxy.host}/${repo}`, digest)).rejects.toThrow(/has no token/);
    } finally {
      await c.close();
    }
  });

  it('a tag list or a manifest over its limit says "over the limit", not "not JSON" or "empty"', async () => {
    const huge = (n: number) => ({ status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.alloc(n, 0x20) });
    anonymous = (p) => (p.endsWith('/tags/list') ? huge(MAX_JSON_BYTES + 1) : p.includes('/manifests/') ? huge(MAX_MANIFEST_BYTES + 1) : undefined);
    const c = new RegistryClient({ credentials: false });
    try {
      await expect(c.tags(`${proxy.host}/${repo}`)).rejects.toThrow(new RegExp(`over the ${MAX_JSON_BYTES}-byte limit`));
      await expect(c.getManifest(`${proxy.host}/${repo}`, 'v1')).rejects.toThrow(new RegExp(`over the ${MAX_MANIFEST_BYTES}-byte limit`));
    } finally {
      await c.close();
      anonymous = undefined;
    }
  });
});
