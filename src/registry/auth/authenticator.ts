/**
 * Registry authentication state: challenges learnt from `WWW-Authenticate`, and Bearer tokens cached per
 * (registry, scope) until shortly before they expire. The HTTP exchange with the token realm is done by the
 * transport (it owns the connections, retries and TLS policy) through the `fetchToken` function given here
 * (see `token.ts`).
 */
import { raceSignal } from '../../internal/abort.js';
import { MAX_TOKEN_MARGIN_MS, MIN_TOKEN_MARGIN_MS } from '../options.js';
import type { Credential } from '../types.js';
import { parseWWWAuthenticate, type Challenge } from './challenge.js';

/** `repository:NAME:ACTIONS`. */
export function repositoryScope(repository: string, actions: 'pull' | 'pull,push' | 'push'): string {
  return `repository:${repository}:${actions}`;
}

/** How much of an unusable `WWW-Authenticate` value an error quotes: enough to see what is wrong with it. */
const MAX_CHALLENGE_SHOWN = 200;

/** What `Authenticator.learn` made of a 401's challenge. */
export type LearntChallenge = { usable: true } | { usable: false; malformed: boolean; problem: string };

/** What a token endpoint answered (the fields the Docker token spec and OAuth2 define). */
export interface TokenResponse {
  token: string;
  /** Seconds; default 60 as the spec says (`DEFAULT_TOKEN_LIFETIME_S`). */
  expiresIn: number;
}

/**
 * How long before its expiry a token stops being used: 10% of its life, at most 30 s and at least 1 s, so a
 * token is never sent in the last moments of its validity (clocks and latency differ).
 */
export function tokenMarginMs(expiresInSeconds: number): number {
  return Math.min(MAX_TOKEN_MARGIN_MS, Math.max(MIN_TOKEN_MARGIN_MS, expiresInSeconds * 100));
}

/** What a token is fetched for: the registry's challenge (realm, service), the scopes, and who asks. */
export interface FetchTokenArgs {
  registry: string;
  challenge: Challenge;
  scopes: readonly string[];
  credential: Credential | undefined;
  signal: AbortSignal | undefined;
}

export type FetchToken = (args: FetchTokenArgs) => Promise<TokenResponse>;

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** What to send for one request. `fresh` is true when the header was obtained for this request (not cached). */
export interface AuthHeader {
  value: string | undefined;
  fresh: boolean;
  /** The scopes a Bearer token was obtained for (its cache key): what to `invalidate` if it is refused. */
  scopes?: readonly string[];
}

/**
 * Per-registry authentication: remembers each registry's challenge (so later requests authenticate up front
 * instead of collecting a 401 each), caches tokens per (registry, sorted scopes), and shares one token fetch
 * between concurrent requests of the same scope.
 */
export class Authenticator {
  readonly #challenges = new Map<string, Challenge>();
  readonly #tokens = new Map<string, CachedToken>();
  readonly #inflight = new Map<string, Promise<CachedToken>>();
  readonly #fetchToken: FetchToken;
  readonly #credential: (registry: string, repository: string | undefined) => Promise<Credential | undefined>;
  readonly #now: () => number;

  constructor(
    fetchToken: FetchToken,
    credential: (registry: string, repository: string | undefined) => Promise<Credential | undefined>,
    now: () => number = Date.now,
  ) {
    this.#fetchToken = fetchToken;
    this.#credential = credential;
    this.#now = now;
  }

  /** The challenge learnt for `registry`, if any. */
  challenge(registry: string): Challenge | undefined {
    return this.#challenges.get(registry);
  }

  /**
   * Records the challenge of a 401, if it is one this client can answer (a Bearer challenge with a realm that is
   * a URL, or Basic). Otherwise says what is wrong with it, so the error names the registry's challenge instead of
   * blaming credentials the user may well have: `malformed` when the registry broke the protocol (a Bearer
   * challenge without a usable realm, a header nothing can be read from), not when it asks for no challenge at all
   * or only for schemes this client does not speak (`Negotiate`).
   */
  learn(registry: string, header: string | string[] | undefined): LearntChallenge {
    const challenges = parseWWWAuthenticate(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    const shown = JSON.stringify((Array.isArray(header) ? header.join(', ') : (header ?? '')).slice(0, MAX_CHALLENGE_SHOWN));
    const realm = bearer?.params.realm;
    if (bearer && realm && URL.canParse(realm)) {
      this.#challenges.set(registry, bearer);
      return { usable: true };
    }
    if (basic) {
      this.#challenges.set(registry, basic);
      return { usable: true };
    }
    if (bearer) {
      const what = realm ? 'a realm that is not a URL' : 'no realm';
      return { usable: false, malformed: true, problem: `the registry's Bearer challenge has ${what}: WWW-Authenticate ${shown}` };
    }
    if (header === undefined || (Array.isArray(header) && header.length === 0)) {
      return { usable: false, malformed: false, problem: 'the registry sent no WWW-Authenticate challenge' };
    }
    if (challenges.length === 0) return { usable: false, malformed: true, problem: `the registry's challenge is unreadable: WWW-Authenticate ${shown}` };
    const schemes = [...new Set(challenges.map((c) => JSON.stringify(c.scheme)))].join(', ');
    return { usable: false, malformed: false, problem: `the registry asks for ${schemes} authentication, which is not supported (Bearer and Basic are)` };
  }

  static #key(registry: string, scopes: readonly string[]): string {
    return `${registry}\n${[...scopes].sort().join(' ')}`;
  }

  /**
   * The scopes a token is asked for (and cached under): the request's own, or, with none of its own (ping,
   * catalog), the one the registry named in its challenge.
   */
  #effectiveScopes(challenge: Challenge, scopes: readonly string[]): readonly string[] {
    return scopes.length === 0 && challenge.params.scope ? [challenge.params.scope] : scopes;
  }

  /**
   * Forgets the cached token a request with these scopes was sent (the registry refused it). The key is the one
   * `header()` used for the same scopes, so a request without scopes drops the token of the challenge's scope.
   */
  invalidate(registry: string, scopes: readonly string[]): void {
    const challenge = this.#challenges.get(registry);
    this.#tokens.delete(Authenticator.#key(registry, challenge ? this.#effectiveScopes(challenge, scopes) : scopes));
    // The scopes as given too: the challenge may have changed (a new scope) since the token was cached.
    this.#tokens.delete(Authenticator.#key(registry, scopes));
  }

  /** Whether a credential is needed and missing (Basic without one): re-sending would only get another 401. */
  async cannotAuthenticate(registry: string, repository: string | undefined): Promise<boolean> {
    const c = this.#challenges.get(registry);
    if (!c) return true;
    if (c.scheme === 'basic') return !(await this.#credential(registry, repository));
    return false;
  }

  /** The `Authorization` value for a request, fetching a token when the registry wants one and none is cached. */
  async header(registry: string, scopes: readonly string[], repository: string | undefined, signal?: AbortSignal): Promise<AuthHeader> {
    const challenge = this.#challenges.get(registry);
    if (!challenge) return { value: undefined, fresh: false };
    if (challenge.scheme === 'basic') {
      const c = await this.#credential(registry, repository);
      if (!c) return { value: undefined, fresh: false };
      return { value: `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`, fresh: true };
    }
    if (challenge.scheme !== 'bearer') return { value: undefined, fresh: false };
    const effective = this.#effectiveScopes(challenge, scopes);
    const key = Authenticator.#key(registry, effective);
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt > this.#now()) return { value: `Bearer ${cached.token}`, fresh: false, scopes: effective };
    let flight = this.#inflight.get(key);
    if (!flight) {
      // Shared by every request of this scope, so it runs under no caller's signal (one caller's abort must not
      // fail the others); it is bounded by the client's timeouts and retries. Each caller races its own signal.
      flight = (async () => {
        const credential = await this.#credential(registry, repository);
        const t = await this.#fetchToken({ registry, challenge, scopes: effective, credential, signal: undefined });
        const entry = { token: t.token, expiresAt: this.#now() + t.expiresIn * 1000 - tokenMarginMs(t.expiresIn) };
        this.#tokens.set(key, entry);
        return entry;
      })().finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, flight);
      flight.catch(() => {}); // a flight whose every caller gave up must not be an unhandled rejection
    }
    const t = await raceSignal(flight, signal);
    return { value: `Bearer ${t.token}`, fresh: true, scopes: effective };
  }
}
