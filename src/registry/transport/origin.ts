/**
 * Where requests go and over what: the undici agents (one verifying TLS, one not, for hosts marked insecure), and
 * each registry's origin (`scheme://host`), found by probing HTTPS then HTTP once for an insecure registry.
 *
 * undici is loaded on the first request (see undici.ts), so importing motecache stays fast.
 */
import type { Agent } from 'undici';
import { InvalidArgumentError } from '../../errors.js';
import { raceSignal } from '../../internal/abort.js';
import { DEFAULT_CONNECTIONS, DEFAULT_TIMEOUT_MS, PROBE_TIMEOUT_MS } from '../options.js';
import { discard } from './body.js';
import { apiHost, transportFor } from './hosts.js';
import { loadHttp } from './undici.js';


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
  #closed = false;

  constructor(o: OriginsOptions) {
    this.#insecure = o.insecure;
    this.#timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#connections = o.connections ?? DEFAULT_CONNECTIONS;
  }

  /** The agent that verifies TLS certificates (`verify`), or the one that does not. */
  async agent(verify: boolean): Promise<Agent> {
    if (this.#closed) throw new InvalidArgumentError('RegistryClient: used after close()');
    const { Agent } = await loadHttp();
    const timeout = this.#timeoutMs;
    const make = () =>
      new Agent({
        connections: this.#connections,
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

  /** Closes every connection (`now`: without waiting for requests in flight, which fail). No agent is handed out afterwards. */
  async close(now = false): Promise<void> {
    this.#closed = true;
    const agents = [this.#verified, this.#unverified].filter((a): a is Agent => a !== undefined);
    this.#verified = this.#unverified = undefined;
    await Promise.all(agents.map((a) => (now ? a.destroy() : a.close()).catch(() => {})));
  }
}
