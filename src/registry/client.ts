/**
 * An OCI distribution API client: manifests, tags, blobs (ranged), uploads and cross-repository mounts, with
 * Bearer/Basic auth, bounded retries, per-host adaptive rate limiting and strict TLS by default.
 *
 * undici is imported on the first request (it costs ~120 ms to load), so importing motecache stays fast.
 */
import { Readable } from 'node:stream';
import type { Dispatcher, Agent } from 'undici';
import { AbortError, DigestMismatchError, InvalidArgumentError, SizeMismatchError } from '../errors.js';
import { createDigester, digestOf, parseDigest, type DigestAlgorithm } from '../digest/index.js';
import { Authenticator, repositoryScope, parseTokenResponse, type Challenge, type TokenResponse } from './auth.js';
import { BoundedBody, discard, readCapped } from './body.js';
import { FileCredentialSource } from './credentials.js';
import {
  RegistryAuthError,
  RegistryError,
  RegistryInsecureError,
  RegistryNotFoundError,
  RegistryProtocolError,
  RegistryRangeError,
  RegistryRateLimitError,
  RegistryUnavailableError,
} from './errors.js';
import { apiHost, schemeAllowed, transportFor } from './hosts.js';
import { RateLimiter } from './limiter.js';
import { checkTagOrDigest, toRepositoryName } from './names.js';
import {
  decideRetry,
  isRetryableError,
  isRetryableStatus,
  parseRetryAfter,
  raceSignal,
  resolveRetryOptions,
  sleep,
  tlsFailureCode,
  type ResolvedRetryOptions,
} from './retry.js';
import { MANIFEST_ACCEPT } from '../oci/media-types.js';
import type { Descriptor } from '../oci/descriptor.js';
import {
  type BlobResponse,
  type Credential,
  type CredentialSource,
  type FetchedManifest,
  type RegistryClientOptions,
  type RegistryEvent,
  type RepositoryName,
  type RequestOptions,
} from './types.js';

type Undici = typeof import('undici');
let undiciModule: Promise<Undici> | undefined;
const loadUndici = (): Promise<Undici> => (undiciModule ??= import('undici'));

import { MAX_MANIFEST_BYTES } from '../oci/manifest.js';
export { MAX_MANIFEST_BYTES };
/** Error documents, token responses and tag lists are read up to this size. */
const MAX_ERROR_BODY_BYTES = 64 << 10;
const MAX_JSON_BYTES = 4 << 20;
const MAX_REDIRECTS = 10;
const MAX_TAG_PAGES = 100_000;
/** How long the HTTPS probe of an insecure registry may take before plain HTTP is assumed. */
const PROBE_TIMEOUT_MS = 10_000;

type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
type Headers = Record<string, string | string[] | undefined>;

interface Send {
  /** The registry as the user named it (credentials, auth state and errors are keyed by it). */
  registry: string;
  method: Method;
  /** A path (`/v2/...`) on the registry's origin, or an absolute URL (a `Location`, a token realm). */
  target: string;
  headers?: Record<string, string>;
  /** A replayable body; a stream can be sent once only (its request is then never retried). */
  body?: Buffer | Readable;
  scopes: readonly string[];
  repository?: string | undefined;
  /** Safe to send again after a failure (idempotent and with a replayable body). */
  retry: boolean;
  /** Token realms are not authenticated through the registry's challenge. */
  noAuth?: boolean;
  followRedirects?: boolean;
  signal?: AbortSignal | undefined;
  /** For messages: "manifest foo:1.0", "blob sha256:…". */
  what: string;
  /** registryCode to report on a 404 without a body (HEAD). */
  notFoundCode?: string;
}

interface Response {
  status: number;
  headers: Headers;
  body: Readable;
  url: URL;
}

export interface TagsOptions extends RequestOptions {
  /** `n` per page; the client follows `Link: <…>; rel="next"` until the end. */
  pageSize?: number;
}

export interface BlobRangeOptions extends RequestOptions {
  /** First byte to fetch. Default 0. */
  offset?: number;
  /** Bytes to fetch from `offset`. Default: to the end. */
  length?: number;
  /** Called with the size of every chunk received (for progress and byte counts). */
  onBytes?: (n: number) => void;
}

export interface PushBlobOptions extends RequestOptions {
  /** Size of the blob; required for a stream when `chunkSize` is not given, checked in every case. */
  size?: number;
  /** Upload in PATCH requests of this many bytes (with `Content-Range`) instead of one PUT. */
  chunkSize?: number;
}

export interface PushBlobResult {
  digest: string;
  size: number;
  /** The blob was already in the repository; nothing was uploaded. */
  existed: boolean;
}

export interface PingResult {
  /** `Docker-Distribution-API-Version`, when the registry sent one. */
  apiVersion: string | undefined;
}

const header = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

const mediaTypeOf = (contentType: string | undefined): string | undefined => contentType?.split(';')[0]?.trim() || undefined;

// Query parameters that carry a credential in a pre-signed URL (S3, GCS, Azure SAS, CloudFront) or a token.
const SECRET_PARAM_RE = /sig|signature|token|credential|secret|key|auth|policy|^se$|^sp$|^sv$/i;

/**
 * A URL as it may appear in events and errors: no userinfo, and no secrets in the query. A URL on another
 * origin than the registry's (a redirect to a CDN or object store) is usually pre-signed and its query is the
 * credential, so it is dropped whole; on the registry's own origin only signature-like parameters are redacted
 * (the rest, e.g. `n`/`last` of a tag list, helps diagnose).
 */
export function safeUrl(url: URL, registryOrigin?: string): string {
  const u = new URL(url.href);
  u.username = '';
  u.password = '';
  u.hash = '';
  if (!u.search) return u.href;
  const search = u.search;
  u.search = '';
  // Built by hand: URL would percent-encode the `<redacted>` marker.
  if (registryOrigin === undefined || u.origin !== registryOrigin) return `${u.href}?<redacted>`;
  const parts = search
    .slice(1)
    .split('&')
    .map((p) => {
      const name = decodeURIComponentSafe(p.split('=')[0] ?? '');
      return SECRET_PARAM_RE.test(name) ? `${p.split('=')[0]}=<redacted>` : p;
    });
  return `${u.href}?${parts.join('&')}`;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Parses `{"errors":[{code,message,detail}]}`; the first error's code and message. */
function parseErrorBody(buf: Buffer | undefined): { code?: string; message?: string } {
  if (!buf || buf.length === 0) return {};
  try {
    const doc = JSON.parse(buf.toString('utf8')) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = Array.isArray(doc?.errors) ? doc.errors[0] : undefined;
    return {
      ...(typeof first?.code === 'string' ? { code: first.code } : {}),
      ...(typeof first?.message === 'string' ? { message: first.message.slice(0, 300) } : {}),
    };
  } catch {
    return {};
  }
}

const isDigest = (d: string): boolean => {
  try {
    parseDigest(d);
    return true;
  } catch {
    return false;
  }
};

const sameAlgorithm = (a: string, b: string): boolean => isDigest(a) && isDigest(b) && parseDigest(a).algorithm === parseDigest(b).algorithm;

/** `Link: <url>; rel="next"` → the URL. */
export function parseNextLink(link: string | string[] | undefined): string | undefined {
  for (const value of link === undefined ? [] : Array.isArray(link) ? link : [link]) {
    for (const part of value.split(/,(?=\s*<)/)) {
      const m = /^\s*<([^>]*)>(.*)$/.exec(part);
      if (m && /;\s*rel="?next"?/i.test(m[2]!)) return m[1];
    }
  }
  return undefined;
}

/** `Content-Range: bytes a-b/total` (total may be `*`). */
function parseContentRange(v: string | undefined): { start: number; end: number; total: number | undefined } | undefined {
  const m = v && /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim());
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

/**
 * The registry's `Docker-Content-Digest` claim, parsed (`undefined` when it sent none). A claim that is not a digest
 * is a protocol error: it is never passed on, only compared with what the bytes hash to.
 */
function contentDigestClaim(res: Response, what: string, registry: string): { digest: string; algorithm: DigestAlgorithm } | undefined {
  const dcd = header(res.headers, 'docker-content-digest');
  if (!dcd) return undefined;
  try {
    return { digest: dcd, algorithm: parseDigest(dcd).algorithm };
  } catch (err) {
    throw new RegistryProtocolError(`${what}: Docker-Content-Digest is not a digest`, { registry, status: res.status, cause: err });
  }
}

export class RegistryClient {
  readonly #options: RegistryClientOptions;
  readonly #retry: ResolvedRetryOptions;
  readonly #limiter: RateLimiter;
  readonly #auth: Authenticator;
  readonly #credentials: CredentialSource | undefined;
  readonly #insecure: readonly string[];
  #verified: Agent | undefined;
  #unverified: Agent | undefined;
  /** Resolved `scheme://host` per registry (an insecure registry's scheme is found by probing once). */
  readonly #origins = new Map<string, Promise<string>>();
  readonly #knownOrigins = new Map<string, string>();
  #closed = false;

  constructor(options: RegistryClientOptions = {}) {
    this.#options = { ...options };
    this.#retry = resolveRetryOptions(options.retry);
    this.#insecure = [...(options.insecure ?? [])];
    this.#limiter = new RateLimiter(options.rateLimit, (host, requestsPerSecond) => this.#emit({ type: 'rate-limit', host, requestsPerSecond }));
    this.#credentials =
      options.credentials === false
        ? undefined
        : (options.credentials ?? new FileCredentialSource({ authFile: options.authFile }));
    this.#auth = new Authenticator(
      (args) => this.#fetchToken(args),
      (registry, repository) => this.#credential(registry, repository),
    );
  }

  #emit(e: RegistryEvent): void {
    try {
      this.#options.onEvent?.(e);
    } catch {
      /* a listener's failure is not the request's */
    }
  }

  async #credential(registry: string, repository: string | undefined): Promise<Credential | undefined> {
    if (!this.#credentials) return undefined;
    return this.#credentials.get(registry, repository);
  }

  async #agent(verify: boolean): Promise<Agent> {
    if (this.#closed) throw new InvalidArgumentError('RegistryClient: used after close()');
    const { Agent } = await loadUndici();
    const timeout = this.#options.timeoutMs ?? 30_000;
    const make = () =>
      new Agent({
        connections: this.#options.connections ?? 8,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        connectTimeout: timeout,
        connect: { rejectUnauthorized: verify },
      });
    if (verify) return (this.#verified ??= make());
    return (this.#unverified ??= make());
  }

  /**
   * `scheme://host` of a registry's API, probing HTTPS then HTTP once for a host listed as insecure. The probe is
   * shared by every concurrent caller, so it runs under its own timeout and no caller's signal (one caller's
   * abort must not fail the others); each caller races its own signal against it.
   */
  #origin(registry: string, signal?: AbortSignal): Promise<string> {
    let p = this.#origins.get(registry);
    if (!p) {
      p = this.#resolveOrigin(registry).then((o) => {
        this.#knownOrigins.set(registry, o);
        return o;
      });
      this.#origins.set(registry, p);
      p.catch(() => this.#origins.delete(registry));
    }
    return raceSignal(p, signal);
  }

  async #resolveOrigin(registry: string): Promise<string> {
    const host = apiHost(registry);
    const decision = transportFor(registry, this.#insecure);
    if (decision.schemes.length === 1) return `${decision.schemes[0]}://${host}`;
    // Insecure host: HTTPS (unverified) if it speaks TLS at all, else plain HTTP, as containers/image does.
    const agent = await this.#agent(false);
    try {
      const res = await agent.request({
        origin: `https://${host}`,
        path: '/v2/',
        method: 'GET',
        signal: AbortSignal.timeout(Math.min(this.#options.timeoutMs ?? 30_000, PROBE_TIMEOUT_MS)),
      });
      discard(res.body);
      return `https://${host}`;
    } catch {
      return `http://${host}`;
    }
  }

  /** The URL of a path on a registry (for `moteRef` and messages): the probed scheme if known, else the preferred one. */
  urlFor(registry: string, path: string): string {
    const origin = this.#knownOrigins.get(registry) ?? `${transportFor(registry, this.#insecure).schemes[0]}://${apiHost(registry)}`;
    return `${origin}${path}`;
  }

  /**
   * Sends one logical request: rate limiting, authentication (one extra round on a 401), redirects (GET/HEAD),
   * and bounded retries of retryable failures for requests marked `retry`. Every response not returned has its
   * body destroyed. Returns the first response that is none of those; the caller owns its body.
   */
  async #send(s: Send): Promise<Response> {
    const signal = s.signal;
    const origin = s.noAuth && /^https?:\/\//.test(s.target) ? undefined : await this.#origin(s.registry, signal);
    let url = /^https?:\/\//.test(s.target) ? new URL(s.target) : new URL(s.target, origin);
    // Where credentials may go; for a token realm (noAuth) it is undefined, and URLs in messages lose their query.
    const registryOrigin = s.noAuth || origin === undefined ? undefined : new URL(origin).origin;
    const shown = (u: URL) => safeUrl(u, registryOrigin);
    let attempt = 0;
    let authRounds = 0;
    let redirects = 0;
    let method = s.method;
    for (;;) {
      if (signal?.aborted) throw new AbortError(signal.reason);
      attempt++;
      await this.#limiter.acquire(url.host, signal);
      const headers: Record<string, string> = { ...s.headers };
      if (this.#options.userAgent) headers['user-agent'] = this.#options.userAgent;
      let sentAuth = false;
      let sentScopes: readonly string[] = s.scopes;
      // Credentials go to the registry's own origin only, never to a redirect target elsewhere (a CDN, S3).
      if (!s.noAuth && url.origin === registryOrigin) {
        const a = await this.#auth.header(s.registry, s.scopes, s.repository, signal);
        if (a.value) {
          headers.authorization = a.value;
          sentAuth = true;
          sentScopes = a.scopes ?? s.scopes;
        }
      }
      const agent = await this.#agent(transportFor(url.host, this.#insecure).verifyTls || url.protocol === 'http:');
      const started = performance.now();
      let res: Dispatcher.ResponseData;
      try {
        // Raced against the signal as well: undici does not always notice an abort while it is still connecting
        // (TLS handshake), and an abort must be prompt. A response that arrives after it is released.
        res = await raceSignal(
          agent.request({
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method,
            headers,
            body: s.body ?? null,
            signal: signal ?? null,
          }),
          signal,
          (late) => discard(late.body),
        );
      } catch (err) {
        if (signal?.aborted) throw err instanceof AbortError ? err : new AbortError(signal.reason);
        const tls = tlsFailureCode(err);
        if (tls) {
          throw new RegistryInsecureError(
            `TLS with ${url.host} failed (${tls}); if this registry serves plain HTTP or a certificate you cannot verify, ` +
              `and you trust the network to it, mark it insecure (--insecure ${url.host})`,
            { registry: s.registry, cause: err },
          );
        }
        const body = s.body;
        const replayable = s.retry && !(body instanceof Readable);
        if (replayable && isRetryableError(err)) {
          const d = decideRetry(attempt, undefined, this.#retry);
          if (d.retry) {
            this.#emit({ type: 'retry', method, url: shown(url), attempt, delayMs: d.delayMs, reason: (err as { code?: string }).code ?? String(err) });
            await sleep(d.delayMs, signal);
            continue;
          }
        }
        throw new RegistryUnavailableError(
          `${s.what}: ${method} ${shown(url)} failed after ${attempt} attempt${attempt > 1 ? 's' : ''}: ${(err as Error).message}`,
          { registry: s.registry, cause: err },
        );
      }
      const status = res.statusCode;
      const resHeaders = res.headers as Headers;
      this.#emit({ type: 'response', method, url: shown(url), status, attempt, durationMs: performance.now() - started });

      if (status === 429) this.#limiter.on429(url.host);
      else this.#limiter.onSuccess(url.host);

      if (status === 401 && !s.noAuth && url.origin === registryOrigin && authRounds === 0 && !(s.body instanceof Readable && s.body.readableDidRead)) {
        authRounds++;
        const learnt = this.#auth.learn(s.registry, resHeaders['www-authenticate']);
        let retryWithAuth: boolean;
        try {
          // The credential lookup reads the auth file and may throw (a malformed file): the body is released
          // first in that case, or it would hold its connection (and the signal's listener) indefinitely.
          retryWithAuth = learnt && !(await this.#auth.cannotAuthenticate(s.registry, s.repository));
        } catch (err) {
          discard(res.body);
          throw err;
        }
        if (retryWithAuth) {
          discard(res.body);
          // A refused cached token is dropped and fetched again once; an anonymous request now authenticates.
          if (sentAuth) this.#auth.invalidate(s.registry, sentScopes);
          attempt--;
          continue;
        }
        throw await this.#errorFrom(s, { status, headers: resHeaders, body: res.body, url }, sentAuth ? undefined : 'no credentials for this registry');
      }

      if (isRetryableStatus(status)) {
        const retryAfter = parseRetryAfter(resHeaders['retry-after']);
        const replayable = s.retry && !(s.body instanceof Readable);
        if (replayable) {
          const d = decideRetry(attempt, retryAfter, this.#retry);
          if (d.retry) {
            discard(res.body);
            this.#emit({ type: 'retry', method, url: shown(url), attempt, delayMs: d.delayMs, reason: `HTTP ${status}` });
            await sleep(d.delayMs, signal);
            continue;
          }
        }
        throw await this.#errorFrom(s, { status, headers: resHeaders, body: res.body, url }, undefined, attempt);
      }

      if (s.followRedirects && [301, 302, 303, 307, 308].includes(status)) {
        const location = header(resHeaders, 'location');
        discard(res.body);
        if (!location) throw new RegistryProtocolError(`${s.what}: redirect without a Location`, { registry: s.registry, status });
        if (++redirects > MAX_REDIRECTS) throw new RegistryProtocolError(`${s.what}: too many redirects`, { registry: s.registry, status });
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new RegistryProtocolError(`${s.what}: redirect to an unparsable Location`, { registry: s.registry, status });
        }
        if (!schemeAllowed(next, this.#insecure) || (url.protocol === 'https:' && next.protocol === 'http:' && !transportFor(next.host, this.#insecure).schemes.includes('http'))) {
          throw new RegistryInsecureError(`${s.what}: refusing a redirect to ${next.protocol}//${next.host}`, { registry: s.registry, status });
        }
        if (status === 303) method = method === 'HEAD' ? 'HEAD' : 'GET';
        url = next;
        attempt--;
        continue;
      }

      return { status, headers: resHeaders, body: res.body, url };
    }
  }

  /** The typed error for a response that is not what was wanted. Reads (a capped) body, except of a 416 or HEAD. */
  async #errorFrom(s: Send, res: Response, hint?: string, attempts?: number): Promise<RegistryError> {
    let parsed: { code?: string; message?: string } = {};
    if (res.status === 416 || s.method === 'HEAD') discard(res.body);
    else parsed = parseErrorBody(await readCapped(res.body, MAX_ERROR_BODY_BYTES).catch(() => undefined));
    const status = res.status;
    let registryCode = parsed.code;
    if (!registryCode) {
      if (status === 404) registryCode = s.notFoundCode;
      else if (status === 401) registryCode = 'UNAUTHORIZED';
      else if (status === 403) registryCode = 'DENIED';
      else if (status === 429) registryCode = 'TOOMANYREQUESTS';
    }
    const detail = [registryCode, parsed.message].filter(Boolean).join(': ');
    const tail = attempts && attempts > 1 ? ` (after ${attempts} attempts)` : '';
    const message = `${s.what}: HTTP ${status}${detail ? ` ${detail}` : ''}${hint ? ` (${hint})` : ''}${tail}`;
    const details = { registry: s.registry, status, registryCode };
    if (status === 404) return new RegistryNotFoundError(message, details);
    if (status === 401 || status === 403) return new RegistryAuthError(message, details);
    if (status === 429) return new RegistryRateLimitError(message, details);
    if (status >= 500) return new RegistryUnavailableError(message, details);
    return new RegistryError('ERR_REGISTRY', message, details);
  }

  async #fetchToken(args: { registry: string; challenge: Challenge; scopes: readonly string[]; credential: Credential | undefined; signal: AbortSignal | undefined }): Promise<TokenResponse> {
    const { challenge, registry, credential, signal } = args;
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm!);
    } catch {
      throw new RegistryProtocolError(`${registry}: the token realm is not a URL`, { registry, status: 401 });
    }
    // Credentials are sent to the realm: plain HTTP only where plain HTTP is allowed at all.
    if (!schemeAllowed(realm, this.#insecure)) {
      throw new RegistryInsecureError(`${registry}: refusing the token realm ${realm.protocol}//${realm.host} (not HTTPS)`, { registry });
    }
    const service = challenge.params.service;
    let res: Response;
    const what = `token for ${registry}`;
    if (credential?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: credential.identityToken, client_id: 'motecache' });
      if (service) form.set('service', service);
      if (args.scopes.length) form.set('scope', args.scopes.join(' '));
      res = await this.#send({
        registry,
        method: 'POST',
        target: realm.href,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
        scopes: [],
        retry: true, // nothing changes on the server: the same refresh token gets a new access token
        noAuth: true,
        signal,
        what,
      });
    } else {
      const u = new URL(realm.href);
      if (service) u.searchParams.set('service', service);
      for (const scope of args.scopes) u.searchParams.append('scope', scope);
      if (credential) u.searchParams.set('account', credential.username);
      const headers: Record<string, string> = {};
      if (credential) headers.authorization = `Basic ${Buffer.from(`${credential.username}:${credential.password}`, 'utf8').toString('base64')}`;
      res = await this.#send({ registry, method: 'GET', target: u.href, headers, scopes: [], retry: true, noAuth: true, signal, what });
    }
    if (res.status !== 200) throw await this.#errorFrom({ registry, method: 'GET', target: '', scopes: [], retry: false, what }, res, credential ? 'the token server refused the credentials' : undefined);
    const buf = await this.#readBody(res, MAX_ERROR_BODY_BYTES, signal, what, registry);
    let doc: unknown;
    try {
      doc = buf && JSON.parse(buf.toString('utf8'));
    } catch {
      doc = undefined;
    }
    const token = parseTokenResponse(doc);
    if (!token) throw new RegistryProtocolError(`${what}: the token server's answer has no token`, { registry, status: res.status });
    return token;
  }

  /**
   * Reads a whole (capped) body: `undefined` if longer than `cap`. A body that fails is a RegistryProtocolError,
   * an abort (during the read, or one that won the race with its end) the project's AbortError: never undici's
   * raw errors or a DOMException.
   */
  async #readBody(res: Response, cap: number, signal: AbortSignal | undefined, what: string, registry: string): Promise<Buffer | undefined> {
    let buf: Buffer | undefined;
    try {
      buf = await raceSignal(readCapped(res.body, cap), signal);
    } catch (err) {
      discard(res.body);
      if (signal?.aborted) throw err instanceof AbortError ? err : new AbortError(signal.reason);
      throw new RegistryProtocolError(`${what}: the body failed: ${(err as Error).message}`, { registry, status: res.status, cause: err });
    }
    if (signal?.aborted) throw new AbortError(signal.reason);
    return buf;
  }

  /** `GET /v2/`: reachable, speaking the API, and (when it asks) authenticated. */
  async ping(registry: string, options: RequestOptions = {}): Promise<PingResult> {
    const s: Send = { registry, method: 'GET', target: '/v2/', scopes: [], retry: true, signal: options.signal, what: `registry ${registry}` };
    const res = await this.#send(s);
    if (res.status !== 200) throw await this.#errorFrom(s, res);
    discard(res.body);
    return { apiVersion: header(res.headers, 'docker-distribution-api-version') };
  }

  /** Every tag of a repository, following `Link` pagination. */
  async tags(repo: RepositoryName | string, options: TagsOptions = {}): Promise<string[]> {
    const { registry, repository } = toRepositoryName(repo);
    if (options.pageSize !== undefined && !(Number.isInteger(options.pageSize) && options.pageSize > 0)) {
      throw new InvalidArgumentError(`tags: pageSize must be a positive integer`);
    }
    let target = `/v2/${repository}/tags/list${options.pageSize ? `?n=${options.pageSize}` : ''}`;
    const out: string[] = [];
    const seen = new Set<string>();
    for (let page = 0; page < MAX_TAG_PAGES; page++) {
      const s: Send = {
        registry,
        method: 'GET',
        target,
        scopes: [repositoryScope(repository, 'pull')],
        repository,
        retry: true,
        signal: options.signal,
        what: `tags of ${registry}/${repository}`,
        notFoundCode: 'NAME_UNKNOWN',
      };
      const res = await this.#send(s);
      if (res.status !== 200) throw await this.#errorFrom(s, res);
      const buf = await this.#readBody(res, MAX_JSON_BYTES, options.signal, s.what, registry);
      let doc: { tags?: unknown };
      try {
        doc = JSON.parse(buf?.toString('utf8') ?? '') as { tags?: unknown };
      } catch {
        throw new RegistryProtocolError(`${s.what}: the tag list is not JSON (or larger than ${MAX_JSON_BYTES} bytes)`, { registry, status: res.status });
      }
      // Valid JSON is not necessarily an object: `null`, `[]` or `"x"` would otherwise escape as a TypeError.
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
        throw new RegistryProtocolError(`${s.what}: the tag list is not a JSON object`, { registry, status: res.status });
      }
      if (doc.tags !== null && doc.tags !== undefined && !Array.isArray(doc.tags)) {
        throw new RegistryProtocolError(`${s.what}: "tags" is not a list`, { registry, status: res.status });
      }
      for (const t of (doc.tags as unknown[] | null | undefined) ?? []) if (typeof t === 'string') out.push(t);
      const next = parseNextLink(res.headers.link);
      if (!next) return out;
      const nextUrl = new URL(next, res.url);
      if (nextUrl.origin !== res.url.origin || seen.has(nextUrl.href)) {
        throw new RegistryProtocolError(`${s.what}: bad pagination link`, { registry, status: res.status });
      }
      seen.add(nextUrl.href);
      target = `${nextUrl.pathname}${nextUrl.search}`;
    }
    throw new RegistryProtocolError(`tags of ${registry}/${repository}: too many pages`, { registry });
  }

  #manifestSend(method: 'GET' | 'HEAD', registry: string, repository: string, ref: string, signal?: AbortSignal): Send {
    return {
      registry,
      method,
      target: `/v2/${repository}/manifests/${ref}`,
      headers: { accept: MANIFEST_ACCEPT.join(', ') },
      scopes: [repositoryScope(repository, 'pull')],
      repository,
      retry: true,
      followRedirects: true,
      signal,
      what: `manifest ${registry}/${repository}${ref.includes(':') ? '@' : ':'}${ref}`,
      notFoundCode: 'MANIFEST_UNKNOWN',
    };
  }

  /**
   * A manifest or index by tag or digest. Its bytes are checked against the digest asked for, and against
   * `Docker-Content-Digest` when the registry sends one (`DigestMismatchError`); more than 4 MiB is refused.
   */
  async getManifest(repo: RepositoryName | string, tagOrDigest: string, options: RequestOptions = {}): Promise<FetchedManifest> {
    const { registry, repository } = toRepositoryName(repo);
    const kind = checkTagOrDigest(tagOrDigest);
    const s = this.#manifestSend('GET', registry, repository, tagOrDigest, options.signal);
    const res = await this.#send(s);
    if (res.status !== 200) throw await this.#errorFrom(s, res);
    const declared = Number(header(res.headers, 'content-length'));
    if (Number.isFinite(declared) && declared > MAX_MANIFEST_BYTES) {
      discard(res.body);
      throw new RegistryProtocolError(`${s.what}: ${declared} bytes is over the ${MAX_MANIFEST_BYTES}-byte manifest limit`, { registry, status: 200 });
    }
    const bytes = await this.#readBody(res, MAX_MANIFEST_BYTES, options.signal, s.what, registry);
    if (!bytes) throw new RegistryProtocolError(`${s.what}: over the ${MAX_MANIFEST_BYTES}-byte manifest limit`, { registry, status: 200 });
    let digest: string | undefined;
    if (kind === 'digest') {
      const actual = digestOf(bytes, parseDigest(tagOrDigest).algorithm);
      if (actual !== tagOrDigest) throw new DigestMismatchError(tagOrDigest, actual);
      digest = tagOrDigest;
    }
    const claim = contentDigestClaim(res, s.what, registry);
    if (claim) {
      const actual = digestOf(bytes, claim.algorithm);
      if (actual !== claim.digest) throw new DigestMismatchError(claim.digest, actual);
      digest ??= claim.digest;
    }
    digest ??= digestOf(bytes);
    let mediaType = mediaTypeOf(header(res.headers, 'content-type'));
    if (!mediaType || mediaType === 'application/json' || mediaType === 'application/octet-stream') {
      try {
        const own = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
        if (typeof own === 'string') mediaType = own;
      } catch {
        /* not JSON: keep what the header said */
      }
    }
    return { descriptor: { mediaType: mediaType ?? 'application/octet-stream', digest, size: bytes.length }, bytes };
  }

  /** A manifest's descriptor by HEAD (falls back to GET when a tag's digest is not in the headers). */
  async headManifest(repo: RepositoryName | string, tagOrDigest: string, options: RequestOptions = {}): Promise<Descriptor> {
    const { registry, repository } = toRepositoryName(repo);
    const kind = checkTagOrDigest(tagOrDigest);
    const s = this.#manifestSend('HEAD', registry, repository, tagOrDigest, options.signal);
    const res = await this.#send(s);
    discard(res.body);
    if (res.status !== 200) throw await this.#errorFrom(s, res);
    const dcd = header(res.headers, 'docker-content-digest');
    // Only a digest of the same algorithm can be compared (a sha512 ref may be answered with its sha256).
    if (kind === 'digest' && dcd && sameAlgorithm(dcd, tagOrDigest) && dcd !== tagOrDigest) throw new DigestMismatchError(tagOrDigest, dcd);
    const digest = kind === 'digest' ? tagOrDigest : dcd;
    const size = Number(header(res.headers, 'content-length'));
    const mediaType = mediaTypeOf(header(res.headers, 'content-type'));
    if (!digest || !isDigest(digest) || !Number.isSafeInteger(size) || !mediaType) {
      return (await this.getManifest({ registry, repository }, tagOrDigest, options)).descriptor;
    }
    return { mediaType, digest, size };
  }

  #blobSend(method: 'GET' | 'HEAD', registry: string, repository: string, digest: string, signal?: AbortSignal, headers?: Record<string, string>): Send {
    return {
      registry,
      method,
      target: `/v2/${repository}/blobs/${digest}`,
      ...(headers ? { headers } : {}),
      scopes: [repositoryScope(repository, 'pull')],
      repository,
      retry: true,
      followRedirects: true,
      signal,
      what: `blob ${registry}/${repository}@${digest}`,
      notFoundCode: 'BLOB_UNKNOWN',
    };
  }

  /** A blob's size (and media type as served, usually `application/octet-stream`); `RegistryNotFoundError` if absent. */
  async headBlob(repo: RepositoryName | string, digest: string, options: RequestOptions = {}): Promise<Descriptor> {
    const { registry, repository } = toRepositoryName(repo);
    parseDigest(digest);
    const s = this.#blobSend('HEAD', registry, repository, digest, options.signal);
    const res = await this.#send(s);
    discard(res.body);
    if (res.status !== 200) throw await this.#errorFrom(s, res);
    const size = Number(header(res.headers, 'content-length'));
    if (!Number.isSafeInteger(size) || size < 0) throw new RegistryProtocolError(`${s.what}: no usable Content-Length`, { registry, status: 200 });
    return { mediaType: mediaTypeOf(header(res.headers, 'content-type')) ?? 'application/octet-stream', digest, size };
  }

  /**
   * Opens a blob, or a range of it. A 206 must carry the `Content-Range` asked for; a 200 to a ranged request
   * (a server or proxy that ignores `Range`) is served by skipping to the offset. An unsatisfiable range (416)
   * is an error unless `offset` is exactly the size (then the body is empty); its body is never read. The body
   * errors with `RegistryProtocolError` if it ends short. Retries happen only until the body is returned.
   */
  async getBlob(repo: RepositoryName | string, digest: string, options: BlobRangeOptions = {}): Promise<BlobResponse> {
    const { registry, repository } = toRepositoryName(repo);
    parseDigest(digest);
    const offset = options.offset ?? 0;
    const length = options.length;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`getBlob: offset must be a non-negative integer`);
    if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) throw new InvalidArgumentError(`getBlob: length must be a non-negative integer`);
    const ranged = offset > 0 || length !== undefined;
    if (length === 0) {
      const d = await this.headBlob({ registry, repository }, digest, options);
      if (offset > d.size) throw new RegistryRangeError(`blob ${registry}/${repository}@${digest}: offset ${offset} is past its end (${d.size} bytes)`, { registry, offset, size: d.size });
      return { body: Readable.from([]), size: d.size, offset, length: 0 };
    }
    const rangeHeader = ranged ? { range: `bytes=${offset}-${length !== undefined ? offset + length - 1 : ''}` } : undefined;
    const s = this.#blobSend('GET', registry, repository, digest, options.signal, rangeHeader);
    const res = await this.#send(s);
    const fail = (message: string, cause?: unknown) => new RegistryProtocolError(`${s.what}: ${message}`, { registry, status: res.status, cause });
    let size: number;
    let skip = 0;
    let deliver: number;
    if (res.status === 206 && ranged) {
      const cr = parseContentRange(header(res.headers, 'content-range'));
      if (!cr || cr.total === undefined || cr.start !== offset || cr.end < cr.start) {
        discard(res.body);
        throw fail(`Content-Range ${JSON.stringify(header(res.headers, 'content-range') ?? null)} does not answer bytes=${offset}-`);
      }
      size = cr.total;
      const wantedEnd = length !== undefined ? Math.min(offset + length, size) - 1 : size - 1;
      if (cr.end !== wantedEnd) {
        discard(res.body);
        throw fail(`Content-Range ${cr.start}-${cr.end}/${cr.total} is not the range asked for (${offset}-${wantedEnd})`);
      }
      deliver = cr.end - cr.start + 1;
    } else if (res.status === 200) {
      size = Number(header(res.headers, 'content-length'));
      if (!Number.isSafeInteger(size) || size < 0) {
        discard(res.body);
        throw fail('no usable Content-Length');
      }
      if (offset > size) {
        discard(res.body);
        throw new RegistryRangeError(`${s.what}: offset ${offset} is past its end (${size} bytes)`, { registry, status: 200, offset, size });
      }
      skip = offset;
      deliver = length !== undefined ? Math.min(length, size - offset) : size - offset;
    } else if (res.status === 416 && ranged) {
      // Never read: distribution's 416 claims the blob's length in Content-Length and sends 31 bytes.
      discard(res.body);
      const total = /^bytes \*\/(\d+)$/.exec(header(res.headers, 'content-range') ?? '')?.[1];
      const known = total !== undefined ? Number(total) : (await this.headBlob({ registry, repository }, digest, options)).size;
      if (offset === known) return { body: Readable.from([]), size: known, offset, length: 0 };
      throw new RegistryRangeError(`${s.what}: range from ${offset} not satisfiable (blob is ${known} bytes)`, { registry, status: 416, offset, size: known });
    } else {
      throw await this.#errorFrom(s, res);
    }
    const signal = options.signal;
    const body = new BoundedBody(res.body, {
      skip,
      length: deliver,
      onBytes: options.onBytes,
      shortError: (delivered, cause) => fail(`the body ended after ${delivered} of ${deliver} bytes`, cause),
      mapError: () => (signal?.aborted ? new AbortError(signal.reason) : undefined),
    });
    return { body, size, offset, length: deliver };
  }

  /** Starts an upload session: the absolute `Location` to send the bytes to. */
  async #startUpload(registry: string, repository: string, query: string, signal: AbortSignal | undefined, what: string, extraScopes: string[] = []): Promise<{ status: number; location: URL | undefined }> {
    const s: Send = {
      registry,
      method: 'POST',
      target: `/v2/${repository}/blobs/uploads/${query}`,
      headers: { 'content-length': '0' },
      scopes: [repositoryScope(repository, 'pull,push'), ...extraScopes],
      repository,
      retry: false,
      signal,
      what,
    };
    const res = await this.#send(s);
    if (res.status !== 202 && res.status !== 201) throw await this.#errorFrom(s, res);
    discard(res.body);
    return { status: res.status, location: this.#uploadLocation(s, res) };
  }

  /**
   * An upload session's `Location`, held to the same scheme policy as redirects: the bytes and the credentials
   * that follow it must not go over plain HTTP to a host where plain HTTP is not allowed.
   */
  #uploadLocation(s: Send, res: Response): URL | undefined {
    const loc = header(res.headers, 'location');
    if (!loc) return undefined;
    let u: URL;
    try {
      u = new URL(loc, res.url);
    } catch {
      throw new RegistryProtocolError(`${s.what}: unparsable upload Location`, { registry: s.registry, status: res.status });
    }
    if (!schemeAllowed(u, this.#insecure) || (res.url.protocol === 'https:' && u.protocol === 'http:' && !transportFor(u.host, this.#insecure).schemes.includes('http'))) {
      throw new RegistryInsecureError(`${s.what}: refusing an upload Location on ${u.protocol}//${u.host}`, { registry: s.registry, status: res.status });
    }
    return u;
  }

  async #cancelUpload(registry: string, repository: string, location: URL): Promise<void> {
    try {
      const res = await this.#send({
        registry,
        method: 'DELETE',
        target: location.href,
        scopes: [repositoryScope(repository, 'pull,push')],
        repository,
        retry: false,
        what: `upload to ${registry}/${repository}`,
      });
      discard(res.body);
    } catch {
      /* best effort: the registry expires abandoned sessions */
    }
  }

  /** Sends one upload request to a session `Location`; returns the next `Location`. */
  async #uploadRequest(
    registry: string,
    repository: string,
    method: 'PATCH' | 'PUT',
    location: URL,
    body: Buffer | Readable,
    headers: Record<string, string>,
    expect: number,
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<{ location: URL | undefined; headers: Headers }> {
    const s: Send = {
      registry,
      method,
      target: location.href,
      headers,
      body,
      scopes: [repositoryScope(repository, 'pull,push')],
      repository,
      // Not retried: a chunk the server may have taken cannot safely be sent again without asking where it is.
      retry: false,
      signal,
      what,
    };
    const res = await this.#send(s);
    if (res.status !== expect) throw await this.#errorFrom(s, res);
    discard(res.body);
    return { location: this.#uploadLocation(s, res), headers: res.headers };
  }

  /** True if the blob is in the repository (HEAD). */
  async blobExists(repo: RepositoryName | string, digest: string, options: RequestOptions = {}): Promise<boolean> {
    try {
      await this.headBlob(repo, digest, options);
      return true;
    } catch (err) {
      if (err instanceof RegistryNotFoundError) return false;
      throw err;
    }
  }

  /**
   * Uploads a blob unless the repository has it (HEAD first). One POST opens the session; the bytes go in one
   * `PUT ?digest=` or, with `chunkSize`, in PATCHes with `Content-Range` and a final empty PUT. The bytes are
   * hashed on the way: content that does not match `digest` fails with `DigestMismatchError` (and the session is
   * cancelled), a wrong `size` with `SizeMismatchError`.
   */
  async pushBlob(
    repo: RepositoryName | string,
    digest: string,
    source: Uint8Array | Readable | AsyncIterable<Uint8Array>,
    options: PushBlobOptions = {},
  ): Promise<PushBlobResult> {
    const { registry, repository } = toRepositoryName(repo);
    const { algorithm } = parseDigest(digest);
    const { size, chunkSize, signal } = options;
    if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) throw new InvalidArgumentError('pushBlob: size must be a non-negative integer');
    if (chunkSize !== undefined && (!Number.isSafeInteger(chunkSize) || chunkSize <= 0)) throw new InvalidArgumentError('pushBlob: chunkSize must be a positive integer');
    const isBuffer = source instanceof Uint8Array;
    if (!isBuffer && chunkSize === undefined && size === undefined) throw new InvalidArgumentError('pushBlob: a stream needs `size` (or `chunkSize`)');
    if (isBuffer) {
      if (size !== undefined && source.length !== size) throw new SizeMismatchError(digest, size, source.length);
      const actual = digestOf(source, algorithm);
      if (actual !== digest) throw new DigestMismatchError(digest, actual);
    }
    const what = `blob ${registry}/${repository}@${digest}`;
    // The source is closed whenever it will not be read to its end (it exists, the upload failed): a stream is
    // destroyed, and an async iterator (a generator) is returned, so its `finally` runs and it holds no file open.
    const release = () => {
      if (source instanceof Readable) source.destroy();
      else if (!isBuffer) {
        const it = source as unknown as Partial<AsyncIterator<Uint8Array>>;
        if (typeof it.return === 'function') void Promise.resolve().then(() => it.return!()).catch(() => {});
      }
    };
    // A size mismatch found while streaming: reported as itself, not as the transport failure it causes.
    let sourceError: Error | undefined;
    let started: { status: number; location: URL | undefined };
    try {
      if (await this.blobExists({ registry, repository }, digest, { signal })) {
        release();
        return { digest, size: isBuffer ? source.length : (size ?? -1), existed: true };
      }
      started = await this.#startUpload(registry, repository, '', signal, what);
    } catch (err) {
      release();
      throw err;
    }
    if (!started.location) {
      release();
      throw new RegistryProtocolError(`${what}: upload started without a Location`, { registry, status: started.status });
    }
    let location = started.location;
    const hasher = createDigester(algorithm);
    let sent = 0;
    const withDigest = (u: URL) => {
      const v = new URL(u.href);
      v.searchParams.set('digest', digest);
      return v;
    };
    try {
      if (chunkSize !== undefined) {
        for await (const chunk of rechunk(isBuffer ? [source] : source, chunkSize)) {
          if (size !== undefined && sent + chunk.length > size) throw (sourceError = new SizeMismatchError(digest, size, sent + chunk.length));
          hasher.update(chunk);
          const r = await this.#uploadRequest(registry, repository, 'PATCH', location, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length), {
            'content-type': 'application/octet-stream',
            'content-length': String(chunk.length),
            'content-range': `${sent}-${sent + chunk.length - 1}`,
          }, 202, signal, what);
          sent += chunk.length;
          if (r.location) location = r.location;
        }
        this.#checkUpload(digest, size, sent, hasher.digest());
        await this.#uploadRequest(registry, repository, 'PUT', withDigest(location), Buffer.alloc(0), { 'content-length': '0' }, 201, signal, what);
      } else if (isBuffer) {
        sent = source.length;
        await this.#uploadRequest(registry, repository, 'PUT', withDigest(location), Buffer.from(source.buffer, source.byteOffset, source.length), {
          'content-type': 'application/octet-stream',
          'content-length': String(source.length),
        }, 201, signal, what);
      } else {
        const counted = Readable.from(
          (async function* () {
            for await (const c of source as AsyncIterable<Uint8Array>) {
              const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
              hasher.update(b);
              sent += b.length;
              // Stop at the first byte too many rather than let the HTTP layer fail on Content-Length.
              if (size !== undefined && sent > size) throw (sourceError = new SizeMismatchError(digest, size, sent));
              yield b;
            }
            if (size !== undefined && sent < size) throw (sourceError = new SizeMismatchError(digest, size, sent));
          })(),
        );
        try {
          await this.#uploadRequest(registry, repository, 'PUT', withDigest(location), counted, {
            'content-type': 'application/octet-stream',
            'content-length': String(size),
          }, 201, signal, what);
        } catch (err) {
          // The registry's refusal (400 DIGEST_INVALID, a length mismatch) is reported as what it is.
          if (counted.readableEnded) this.#checkUpload(digest, size, sent, hasher.digest());
          throw err;
        }
        this.#checkUpload(digest, size, sent, hasher.digest());
      }
    } catch (err) {
      release();
      await this.#cancelUpload(registry, repository, location);
      if (signal?.aborted && !(err instanceof AbortError)) throw new AbortError(signal.reason);
      throw sourceError ?? err;
    }
    return { digest, size: sent, existed: false };
  }

  #checkUpload(digest: string, size: number | undefined, sent: number, actual: string): void {
    if (size !== undefined && sent !== size) throw new SizeMismatchError(digest, size, sent);
    if (actual !== digest) throw new DigestMismatchError(digest, actual);
  }

  /**
   * Cross-repository mount: `true` if the registry mounted the blob from `fromRepo` (201). A registry that opens
   * an upload session instead (202: it cannot or will not mount) has that session cancelled, and `false` is
   * returned: the caller then uploads.
   */
  async mountBlob(repo: RepositoryName | string, digest: string, fromRepo: RepositoryName | string, options: RequestOptions = {}): Promise<boolean> {
    const { registry, repository } = toRepositoryName(repo);
    const from = toRepositoryName(fromRepo);
    parseDigest(digest);
    if (from.registry !== registry) throw new InvalidArgumentError(`mountBlob: ${from.registry} is not ${registry} (mounts work within one registry)`);
    const query = `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from.repository)}`;
    const what = `mount of ${digest} from ${from.repository} into ${registry}/${repository}`;
    const r = await this.#startUpload(registry, repository, query, options.signal, what, [repositoryScope(from.repository, 'pull')]);
    if (r.status === 201) return true;
    if (r.location) await this.#cancelUpload(registry, repository, r.location);
    return false;
  }

  /** Uploads a manifest under a tag or digest; returns its digest. Retried like a GET (a PUT of a manifest is idempotent). */
  async putManifest(repo: RepositoryName | string, ref: string, bytes: Uint8Array, mediaType: string, options: RequestOptions = {}): Promise<string> {
    const { registry, repository } = toRepositoryName(repo);
    const kind = checkTagOrDigest(ref);
    if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('putManifest: bytes must be a Uint8Array');
    if (typeof mediaType !== 'string' || !/^[\w.+-]+\/[\w.+-]+$/.test(mediaType)) throw new InvalidArgumentError(`putManifest: invalid media type ${JSON.stringify(mediaType)}`);
    if (bytes.length > MAX_MANIFEST_BYTES) throw new InvalidArgumentError(`putManifest: ${bytes.length} bytes is over the ${MAX_MANIFEST_BYTES}-byte limit`);
    const digest = kind === 'digest' ? ref : digestOf(bytes);
    if (kind === 'digest') {
      const actual = digestOf(bytes, parseDigest(ref).algorithm);
      if (actual !== ref) throw new DigestMismatchError(ref, actual);
    }
    const s: Send = {
      registry,
      method: 'PUT',
      target: `/v2/${repository}/manifests/${ref}`,
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
      body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
      scopes: [repositoryScope(repository, 'pull,push')],
      repository,
      retry: true,
      signal: options.signal,
      what: `manifest ${registry}/${repository}${kind === 'digest' ? '@' : ':'}${ref}`,
    };
    const res = await this.#send(s);
    if (res.status !== 201 && res.status !== 200) throw await this.#errorFrom(s, res);
    discard(res.body);
    // The registry's claim is checked, never passed on: the digest returned is the one of the bytes sent.
    const claim = contentDigestClaim(res, s.what, registry);
    if (claim) {
      const ours = claim.algorithm === parseDigest(digest).algorithm ? digest : digestOf(bytes, claim.algorithm);
      if (claim.digest !== ours) throw new DigestMismatchError(ours, claim.digest);
    }
    return digest;
  }

  /** Closes every connection. The client cannot be used afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    const agents = [this.#verified, this.#unverified].filter((a): a is Agent => a !== undefined);
    this.#verified = this.#unverified = undefined;
    await Promise.all(agents.map((a) => a.close().catch(() => {})));
  }
}

/** Regroups a byte stream into chunks of exactly `size` bytes (the last one shorter). */
async function* rechunk(source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let pending: Buffer[] = [];
  let n = 0;
  for await (const c of source) {
    let b = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length);
    while (b.length > 0) {
      const take = Math.min(size - n, b.length);
      pending.push(b.subarray(0, take));
      n += take;
      b = b.subarray(take);
      if (n === size) {
        yield Buffer.concat(pending);
        pending = [];
        n = 0;
      }
    }
  }
  if (n > 0) yield Buffer.concat(pending);
}
