/**
 * A real Docker token server (the "Bearer" auth of Docker Hub, GHCR, ...) for the registry tests: the registry
 * (distribution's `auth.token`) sends clients here, and accepts the RS256 JWTs it issues because their `x5c` header
 * carries a certificate listed in the registry's `rootcertbundle`.
 *
 * Protocol (https://distribution.github.io/distribution/spec/auth/token/):
 *   GET REALM?service=SERVICE&scope=repository:NAME:pull,push[&scope=...][&account=USER]  (optional Basic auth)
 *   → 200 {token, access_token, expires_in, issued_at}; invalid credentials → 401.
 * A user with valid credentials gets every action it asked for; an anonymous client gets `pull` only when
 * `anonymousPull`, otherwise a token granting nothing (so the registry answers 401 for the resource).
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from './tmp.js';

const execFileP = promisify(execFile);

export interface TokenRequestRecord {
  /** The `scope` parameters as sent (`repository:NAME:pull,push`). */
  scope: string[];
  /** The Basic-auth user (else the `account` parameter), when any. */
  account?: string;
  /** false when the credentials were wrong (answered 401). */
  authorized: boolean;
}

export interface TokenServer {
  /** `http://127.0.0.1:PORT/token` */
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate the registry trusts (`auth.token.rootcertbundle`). */
  rootCertBundlePath: string;
  /** Tokens issued so far. */
  readonly issued: number;
  readonly requests: TokenRequestRecord[];
  stop(): Promise<void>;
}

export interface TokenServerOptions {
  users: Record<string, string>;
  anonymousPull: boolean;
  /** Token lifetime. Default 300 s. */
  expiresInSeconds?: number;
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Splits `type:name:actions` (a name never has a colon after the registry host is stripped, but be lenient). */
function parseScope(s: string): Access | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  return {
    type: s.slice(0, first),
    name: s.slice(first + 1, last),
    actions: s.slice(last + 1).split(',').filter(Boolean),
  };
}

function parseBasic(header: string | undefined): { user: string; pass: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? undefined : { user: decoded.slice(0, i), pass: decoded.slice(i + 1) };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

export async function startTokenServer(options: TokenServerOptions): Promise<TokenServer> {
  const { dir, cleanup } = makeTempDir('motecache-token-');
  const keyPath = path.join(dir, 'key.pem');
  const certPath = path.join(dir, 'cert.pem');
  try {
    // A self-signed certificate: distribution verifies the x5c chain against rootcertbundle, and a self-signed
    // leaf that is itself in the bundle is a valid chain of one.
    await execFileP(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=motecache-test-token-issuer'],
      { timeout: 30_000 },
    );
  } catch (err) {
    cleanup();
    throw new Error(`token server: openssl could not make a certificate: ${(err as { stderr?: string }).stderr ?? err}`);
  }
  const privateKey = crypto.createPrivateKey(fs.readFileSync(keyPath));
  const certDer = new crypto.X509Certificate(fs.readFileSync(certPath)).raw;
  const service = 'motecache-test-registry';
  const issuer = 'motecache-test-token-issuer';
  const ttl = options.expiresInSeconds ?? 300;
  const requests: TokenRequestRecord[] = [];
  let issued = 0;

  const sign = (sub: string, access: Access[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = {
      iss: issuer,
      sub,
      aud: service,
      exp: now + ttl,
      // A little slack for clock reads between this process and the registry.
      nbf: now - 10,
      iat: now,
      jti: crypto.randomUUID(),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = crypto.sign('sha256', Buffer.from(input), privateKey);
    return `${input}.${b64url(sig)}`;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const bytes = Buffer.from(JSON.stringify(body));
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length, ...headers });
      res.end(bytes);
    };
    req.resume();
    if (url.pathname !== '/token' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return send(404, { errors: [{ code: 'NOT_FOUND', message: 'only GET /token is served' }] });
    }
    const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    const basic = parseBasic(req.headers.authorization);
    const account = basic?.user ?? url.searchParams.get('account') ?? undefined;
    if (req.headers.authorization && !basic) {
      requests.push({ scope: scopes, ...(account ? { account } : {}), authorized: false });
      return send(401, { errors: [{ code: 'UNAUTHORIZED', message: 'unsupported authorization scheme' }] });
    }
    if (basic) {
      const expected = options.users[basic.user];
      if (expected === undefined || !safeEqual(expected, basic.pass)) {
        requests.push({ scope: scopes, account: basic.user, authorized: false });
        return send(
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'invalid username or password' }] },
          { 'www-authenticate': 'Basic realm="motecache-test-token"' },
        );
      }
    }
    const access: Access[] = [];
    for (const s of scopes) {
      const a = parseScope(s);
      if (!a) continue;
      const actions = basic ? a.actions : options.anonymousPull ? a.actions.filter((x) => x === 'pull') : [];
      if (actions.length) access.push({ ...a, actions });
    }
    requests.push({ scope: scopes, ...(account ? { account } : {}), authorized: true });
    issued++;
    const token = sign(basic?.user ?? '', access);
    send(200, { token, access_token: token, expires_in: ttl, issued_at: new Date().toISOString() });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  let stopped = false;

  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundlePath: certPath,
    get issued() {
      return issued;
    },
    requests,
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      cleanup();
    },
  };
}

/**
 * Asks `server` for a token for `scopes` (`repository:NAME:pull,push`), with Basic credentials when given (else
 * anonymously): what a client does after a `401 Bearer` challenge. `token` is unset when the server refused (401).
 */
export async function fetchToken(
  server: Pick<TokenServer, 'realm' | 'service'>,
  scopes: string[],
  credentials?: { username: string; password: string },
): Promise<{ status: number; token?: string }> {
  const u = new URL(server.realm);
  u.searchParams.set('service', server.service);
  for (const s of scopes) u.searchParams.append('scope', s);
  const headers: Record<string, string> = {};
  if (credentials) headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const r = await fetch(u, { headers });
  const body = (await r.json()) as { token?: string };
  return { status: r.status, ...(r.ok && body.token ? { token: body.token } : {}) };
}
