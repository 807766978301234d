/**
 * The request loop every API call goes through: rate limiting, authentication (one extra round on a 401),
 * redirects (GET/HEAD), and bounded retries of retryable failures, with the connection policy of `origin.ts`.
 */
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { asAbortError, raceSignal, sleep, throwIfAborted } from '../../internal/abort.js';
import type { Authenticator } from '../auth/authenticator.js';
import { RegistryInsecureError, RegistryProtocolError, RegistryRateLimitError } from '../errors.js';
import { MAX_REDIRECTS } from '../options.js';
import type { RegistryEvent } from '../types.js';
import { discard } from './body.js';
import { header } from './headers.js';
import { mayFollow, transportFor } from './hosts.js';
import type { RateLimiter } from './limiter.js';
import type { Origins } from './origin.js';
import type { ResolvedMinTransferRate } from './rate-guard.js';
import { safeUrl } from './redact.js';
import { errorFrom, tlsFailure, unavailable } from './response-errors.js';
import { decideRetry, isRetryableError, isRetryableStatus, parseRetryAfter, type ResolvedRetryOptions } from './retry.js';
import type { Headers, Method, Response, Send } from './types.js';
import { loadHttp } from './undici.js';

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const isAbsolute = (target: string): boolean => /^https?:\/\//.test(target);

/** What the transport works with; the client builds them from its options. */
export interface TransportParts {
  origins: Origins;
  limiter: RateLimiter;
  auth: Authenticator;
  retry: ResolvedRetryOptions;
  /** Hosts the user marked insecure (see `transportFor`). */
  insecure: readonly string[];
  userAgent: string | undefined;
  /** Reports events; must not throw (the client isolates the user's listener). */
  emit: (e: RegistryEvent) => void;
  /** The slowest a response body may arrive; handed to whoever reads it with the response. Undefined: off. */
  minRate?: ResolvedMinTransferRate | undefined;
}

/** The headers one attempt sends, and the credential among them (to drop it if the registry refuses it). */
interface Prepared {
  headers: Record<string, string>;
  sentAuth: boolean;
  sentScopes: readonly string[];
}

export class Transport {
  readonly insecure: readonly string[];
  readonly #p: TransportParts;

  constructor(parts: TransportParts) {
    this.#p = parts;
    this.insecure = parts.insecure;
  }

  /** A response body the caller hands on to its own caller (a blob's): see `Origins.track`. */
  handOut(body: Readable, delivered: () => number): void {
    this.#p.origins.track(body, delivered);
  }

  /**
   * Sends one logical request: rate limiting, authentication (one extra round on a 401), redirects (GET/HEAD),
   * and bounded retries of retryable failures for requests marked `retry`. Every response not returned has its
   * body destroyed. Returns the first response that is none of those; the caller owns its body.
   */
  async send(s: Send): Promise<Response> {
    const signal = s.signal;
    const origin = s.noAuth && isAbsolute(s.target) ? undefined : await this.#p.origins.origin(s.registry, signal);
    let url = isAbsolute(s.target) ? new URL(s.target) : new URL(s.target, origin);
    // Where credentials may go; for a token realm (noAuth) it is undefined, and URLs in messages lose their query.
    const registryOrigin = s.noAuth || origin === undefined ? undefined : new URL(origin).origin;
    const shown = (u: URL) => safeUrl(u, registryOrigin);
    let attempt = 0;
    let authRounds = 0;
    let redirects = 0;
    let method = s.method;
    for (;;) {
      throwIfAborted(signal);
      attempt++;
      // A budget the registry announced, down to the reserve this client keeps: manifest GETs (what registries
      // such as Docker Hub count) stop at once instead of spending what people's pulls need.
      const reserve = method === 'GET' && /\/manifests\//.test(url.pathname) ? this.#p.limiter.atReserve(url.host) : undefined;
      if (reserve) {
        throw new RegistryRateLimitError(`${s.what}: ${url.host} has ${reserve.remaining} of ${reserve.limit} requests left, the reserve this client keeps`, {
          registry: s.registry,
        });
      }
      await this.#p.limiter.acquire(url.host, signal);
      const prepared = await this.#prepare(s, url, registryOrigin);
      const agent = await this.#p.origins.agent(transportFor(url.host, this.insecure).verifyTls || url.protocol === 'http:');
      const { request } = await loadHttp();
      const started = performance.now();
      let raw: Dispatcher.ResponseData;
      try {
        // Raced against the signal as well: undici does not always notice an abort while it is still connecting
        // (TLS handshake), and an abort must be prompt. A response that arrives after it is released.
        raw = await raceSignal(
          request(agent, {
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method,
            headers: prepared.headers,
            body: s.body ?? null,
            signal: signal ?? null,
            // undici closes the connection after every HEAD (against servers that send a body with one), so each
            // HEAD cost a TCP connect and a new connection pool: 100,000 HEADs of a warmer, ~200 MiB of garbage.
            // Registries do not send one; bytes one sent would break the next response on that connection, which
            // fails to parse and is a connection failure like any other (retried where the request may be).
            ...(method === 'HEAD' && { reset: false }),
          }),
          signal,
          (late) => discard(late.body),
        );
      } catch (err) {
        if (signal?.aborted) throw asAbortError(err, signal);
        const insecure = tlsFailure(err, url, s.registry);
        if (insecure) throw insecure;
        const event = { method, url: shown(url), reason: (err as { code?: string }).code ?? String(err) };
        if (isRetryableError(err) && (await this.#backOff(s, attempt, undefined, event))) continue;
        throw unavailable(s, method, shown(url), attempt, err);
      }
      const res: Response = { status: raw.statusCode, headers: raw.headers as Headers, body: raw.body, url, minRate: this.#p.minRate };
      const status = res.status;
      this.#p.emit({ type: 'response', method, url: shown(url), status, attempt, durationMs: performance.now() - started });

      this.#p.limiter.observe(url.host, res.headers);
      if (status === 429) this.#p.limiter.on429(url.host, parseRetryAfter(res.headers['retry-after']), this.#p.retry.maxRetryAfterMs);
      else this.#p.limiter.onSuccess(url.host);

      if (status === 401 && !s.noAuth && url.origin === registryOrigin && authRounds === 0 && !(s.body instanceof Readable && s.body.readableDidRead)) {
        authRounds++;
        await this.#authenticate(s, res, prepared);
        attempt--;
        continue;
      }

      if (isRetryableStatus(status)) {
        const retryAfter = parseRetryAfter(res.headers['retry-after']);
        const event = { method, url: shown(url), reason: `HTTP ${status}` };
        if (await this.#backOff(s, attempt, retryAfter, event, () => discard(res.body))) continue;
        throw await errorFrom(s, res, undefined, attempt);
      }

      if (s.followRedirects && REDIRECT_STATUSES.has(status)) {
        url = this.#redirectTarget(s, res, ++redirects);
        if (status === 303) method = method === 'HEAD' ? 'HEAD' : 'GET';
        attempt--;
        continue;
      }

      return res;
    }
  }

  /** The headers of one attempt: the request's own, the user agent, and credentials where they may go. */
  async #prepare(s: Send, url: URL, registryOrigin: string | undefined): Promise<Prepared> {
    const headers: Record<string, string> = { ...s.headers };
    if (this.#p.userAgent) headers['user-agent'] = this.#p.userAgent;
    // Credentials go to the registry's own origin only, never to a redirect target elsewhere (a CDN, S3).
    if (!s.noAuth && url.origin === registryOrigin) {
      const a = await this.#p.auth.header(s.registry, s.scopes, s.repository, s.signal);
      if (a.value) {
        headers.authorization = a.value;
        return { headers, sentAuth: true, sentScopes: a.scopes ?? s.scopes };
      }
    }
    return { headers, sentAuth: false, sentScopes: s.scopes };
  }

  /**
   * The auth round after a 401: learns the registry's challenge and returns (to send the request again, now
   * authenticated) if authenticating can help; else throws the 401 as a RegistryAuthError.
   */
  async #authenticate(s: Send, res: Response, sent: Prepared): Promise<void> {
    const learnt = this.#p.auth.learn(s.registry, res.headers['www-authenticate']);
    if (!learnt.usable) {
      // What is wrong is the challenge, whatever credentials there are: the error says so.
      const refused = await errorFrom(s, res, learnt.problem);
      if (!learnt.malformed) throw refused;
      throw new RegistryProtocolError(refused.message, { registry: s.registry, status: res.status, registryCode: refused.registryCode });
    }
    let retryWithAuth: boolean;
    try {
      // The credential lookup reads the auth file and may throw (a malformed file): the body is released
      // first in that case, or it would hold its connection (and the signal's listener) indefinitely.
      retryWithAuth = !(await this.#p.auth.cannotAuthenticate(s.registry, s.repository));
    } catch (err) {
      discard(res.body);
      throw err;
    }
    if (!retryWithAuth) throw await errorFrom(s, res, sent.sentAuth ? undefined : 'no credentials for this registry');
    discard(res.body);
    // A refused cached token is dropped and fetched again once; an anonymous request now authenticates.
    if (sent.sentAuth) this.#p.auth.invalidate(s.registry, sent.sentScopes);
  }

  /**
   * Waits before another attempt of a request that failed retryably, if it may be sent again (marked `retry`,
   * and its body is not a stream, which can be sent once only) and the policy allows: true after the wait,
   * false at once when no retry is allowed. `release` frees the failed response before the wait.
   */
  async #backOff(
    s: Send,
    attempt: number,
    retryAfterMs: number | undefined,
    event: { method: Method; url: string; reason: string },
    release?: () => void,
  ): Promise<boolean> {
    const replayable = s.retry && !(s.body instanceof Readable);
    if (!replayable) return false;
    const d = decideRetry(attempt, retryAfterMs, this.#p.retry);
    if (!d.retry) return false;
    release?.();
    this.#p.emit({ type: 'retry', method: event.method, url: event.url, attempt, delayMs: d.delayMs, reason: event.reason });
    await sleep(d.delayMs, s.signal);
    return true;
  }

  /** Where a redirect (the `redirects`-th of this request) goes; its body is released. */
  #redirectTarget(s: Send, res: Response, redirects: number): URL {
    const status = res.status;
    const location = header(res.headers, 'location');
    discard(res.body);
    if (!location) throw new RegistryProtocolError(`${s.what}: redirect without a Location`, { registry: s.registry, status });
    if (redirects > MAX_REDIRECTS) throw new RegistryProtocolError(`${s.what}: too many redirects`, { registry: s.registry, status });
    let next: URL;
    try {
      next = new URL(location, res.url);
    } catch {
      throw new RegistryProtocolError(`${s.what}: redirect to an unparsable Location`, { registry: s.registry, status });
    }
    if (!mayFollow(res.url, next, this.insecure)) {
      throw new RegistryInsecureError(`${s.what}: refusing a redirect to ${next.protocol}//${next.host}`, { registry: s.registry, status });
    }
    return next;
  }
}
