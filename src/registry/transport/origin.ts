/**
 * Where requests go and over what: the undici agents (one verifying TLS, one not, for hosts marked insecure), and
 * each registry's origin (`scheme://host`), found by probing HTTPS then HTTP once for an insecure registry.
 *
 * undici is loaded on the first request (see undici.ts), so importing motecache stays fast.
 */
import type { Readable } from 'node:stream';
import type { Agent, Dispatcher } from 'undici';
import { InvalidArgumentError } from '../../errors.js';
import { raceSignal, sleep } from '../../internal/abort.js';
import { DEFAULT_CONNECTIONS, DEFAULT_TIMEOUT_MS, PROBE_TIMEOUT_MS } from '../options.js';
import { discard } from './body.js';
import { apiHost, transportFor } from './hosts.js';
import { loadHttp } from './undici.js';


/** How often `close()` looks at the bodies it waits for. */
const CLOSE_POLL_MS = 100;

export interface OriginsOptions {
  insecure: readonly string[];
  timeoutMs?: number | undefined;
  connections?: number | undefined;
}

/** The agents and the resolved origins of one client. */
export class Origins {
  readonly #insecure: readonly string[];
  readonly #timeoutMs: number;
  readonly #connections: number;
  #verified: Agent | undefined;
  #unverified: Agent | undefined;
  /** Resolved `scheme://host` per registry (an insecure registry's scheme is found by probing once). */
  readonly #origins = new Map<string, Promise<string>>();
  readonly #knownOrigins = new Map<string, string>();
  /**
   * Every origin's connection pool, made for the agents: an agent forgets its pools once asked to close, and a
   * close that gives up must still be able to destroy them.
   */
  readonly #pools = new Set<Dispatcher>();
  /** Bodies handed to callers and not closed yet, each with what it has delivered so far. */
  readonly #handedOut = new Map<Readable, () => number>();
  #closed = false;

  constructor(o: OriginsOptions) {
    this.#insecure = o.insecure;
    this.#timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#connections = o.connections ?? DEFAULT_CONNECTIONS;
  }

  /** The agent that verifies TLS certificates (`verify`), or the one that does not. */
  async agent(verify: boolean): Promise<Agent> {
    if (this.#closed) throw new InvalidArgumentError('RegistryClient: used after close()');
    const { Agent, Pool } = await loadHttp();
    const timeout = this.#timeoutMs;
    const make = () =>
      new Agent({
        connections: this.#connections,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        connectTimeout: timeout,
        connect: { rejectUnauthorized: verify },
        factory: (origin, options) => {
          const pool = new Pool(origin, options as import('undici').Pool.Options);
          // Kept while it has connections only: the agent drops an idle pool and makes a new one for the next
          // request (after every HEAD, whose connection undici closes), so keeping them all grew without bound.
          this.#pools.add(pool);
          pool.on('connect', () => this.#pools.add(pool));
          pool.on('disconnect', () => {
            if (pool.stats.connected === 0) this.#pools.delete(pool);
          });
          return pool;
        },
      });
    if (verify) return (this.#verified ??= make());
    return (this.#unverified ??= make());
  }

  /**
   * `scheme://host` of a registry's API, probing HTTPS then HTTP once for a host listed as insecure. The probe is
   * shared by every concurrent caller, so it runs under its own timeout and no caller's signal (one caller's
   * abort must not fail the others); each caller races its own signal against it.
   */
  origin(registry: string, signal?: AbortSignal): Promise<string> {
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
    const agent = await this.agent(false);
    const { request } = await loadHttp();
    try {
      const res = await request(agent, {
        origin: `https://${host}`,
        path: '/v2/',
        method: 'GET',
        signal: AbortSignal.timeout(Math.min(this.#timeoutMs, PROBE_TIMEOUT_MS)),
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
   * A response body handed to a caller (a blob's), with how many bytes it has delivered: `close()` destroys it if
   * nobody reads it, and waits for it only while it moves.
   */
  track(body: Readable, delivered: () => number): void {
    if (body.destroyed) return;
    this.#handedOut.set(body, delivered);
    body.once('close', () => this.#handedOut.delete(body));
  }

  /**
   * Closes every connection. `now`: at once, requests and bodies in flight fail. Otherwise requests in flight may
   * finish, but a connection waits for its body to be read to the end, and a body nobody reads would hold it (and
   * close()) forever: bodies handed out that nobody reads (no data read, no reader attached) are destroyed, quietly
   * (no error event), and once nothing has moved for `graceMs` (reads of the bodies handed out), what is left is
   * destroyed as `now` would. No agent is handed out afterwards.
   */
  async close(now = false, graceMs = this.#timeoutMs): Promise<void> {
    this.#closed = true;
    const agents = [this.#verified, this.#unverified].filter((a): a is Agent => a !== undefined);
    this.#verified = this.#unverified = undefined;
    const pools = [...this.#pools];
    this.#pools.clear();
    const destroy = (): Promise<unknown> =>
      Promise.all([...agents.map((a) => a.destroy().catch(() => {})), ...pools.map((p) => p.destroy().catch(() => {}))]);
    if (now) {
      await destroy();
      return;
    }
    // Untouched at close(), or at two looks in a row (a body handed out meanwhile gets one look to be picked up).
    const untouched = (b: Readable): boolean =>
      !b.readableDidRead && b.readableFlowing === null && b.listenerCount('data') === 0 && b.listenerCount('readable') === 0;
    const unread = new Set<Readable>();
    const dropUnread = (all: boolean): void => {
      for (const body of this.#handedOut.keys()) {
        if (!untouched(body)) continue;
        if (all || unread.has(body)) body.destroy();
        else unread.add(body);
      }
    };
    dropUnread(true);
    let finished = false;
    const closing = Promise.all(agents.map((a) => a.close().catch(() => {}))).then(() => (finished = true));
    const progress = (): number => [...this.#handedOut.values()].reduce((n, delivered) => n + delivered(), 0);
    let last = progress();
    let quietSince = performance.now();
    while (!finished) {
      await Promise.race([closing, sleep(Math.min(CLOSE_POLL_MS, graceMs))]);
      if (finished) return;
      dropUnread(false);
      const moved = progress();
      if (moved !== last) {
        last = moved;
        quietSince = performance.now();
      } else if (performance.now() - quietSince >= graceMs) {
        await destroy();
        return;
      }
    }
  }
}
