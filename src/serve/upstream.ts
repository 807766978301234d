/**
 * Upstreams: which registry a request's name goes to. Three ways, tried in this order:
 *  - containerd's `?ns=<host>`: the upstream whose `host` is that registry (`docker.io` also matches Docker Hub);
 *  - a name prefix (`prefix: ghcr` maps `ghcr/foo/bar` to `foo/bar` upstream);
 *  - the default upstream, by the same name (distribution's `proxy.remoteurl`); for Docker Hub a one-component
 *    name gets `library/` (Docker's `registry-mirrors` convention: `alpine` is `docker.io/library/alpine`).
 */
import { InvalidArgumentError } from '../errors.js';
import { RegistryClient } from '../registry/client.js';
import { RegistryMoteCache } from '../registry/registry-cache.js';
import type { RegistryClientOptions } from '../registry/types.js';
import { SpecError } from './errors.js';
import { UPSTREAM_RETRY } from './options.js';

export interface UpstreamSpec {
  /** `https://registry-1.docker.io`, `http://127.0.0.1:5001`. */
  url: string;
  /** Name prefix routed here (stripped before asking upstream). */
  prefix?: string;
  /** Registry host this upstream stands for (containerd's `ns=`); default the URL's host. */
  host?: string;
  /** Serves names no prefix matches. */
  default?: boolean;
  /** Docker config.json / containers auth.json with this upstream's credentials (default: the usual files). */
  authFile?: string;
}

export interface Upstream {
  spec: UpstreamSpec;
  /** `host[:port]` as given to the registry client. */
  registry: string;
  hosts: Set<string>;
  hub: boolean;
  client: RegistryClient;
  sources: Map<string, RegistryMoteCache>;
}

export interface Route {
  upstream: Upstream;
  /** The repository upstream. */
  repository: string;
}

const HUB = new Set(['docker.io', 'registry-1.docker.io', 'index.docker.io', 'registry.hub.docker.com']);

export class Upstreams {
  readonly all: Upstream[];
  readonly #default: Upstream | undefined;

  constructor(specs: readonly UpstreamSpec[], clientOptions: RegistryClientOptions = {}) {
    if (!Array.isArray(specs) || specs.length === 0) throw new InvalidArgumentError('serve: give at least one upstream (--upstream URL or a config file)');
    this.all = specs.map((spec) => makeUpstream(spec, clientOptions));
    this.#default = this.all.find((u) => u.spec.default) ?? (this.all.length === 1 ? this.all[0] : undefined);
  }

  /** The upstream and repository for a validated name; `NAME_UNKNOWN` when nothing serves it. */
  route(name: string, ns: string | undefined): Route {
    if (ns !== undefined) {
      const host = ns.toLowerCase();
      const u = this.all.find((x) => x.hosts.has(host) || (x.hub && HUB.has(host)));
      if (!u) throw new SpecError('NAME_UNKNOWN', `this mirror has no upstream for ns=${JSON.stringify(ns)}`);
      return { upstream: u, repository: hubName(u, name) };
    }
    for (const u of this.all) {
      const p = u.spec.prefix;
      if (p && name.startsWith(`${p}/`)) return { upstream: u, repository: hubName(u, name.slice(p.length + 1)) };
    }
    if (!this.#default) throw new SpecError('NAME_UNKNOWN', `no upstream serves ${JSON.stringify(name)} (no prefix matches and there is no default)`);
    return { upstream: this.#default, repository: hubName(this.#default, name) };
  }

  /** The read-through source of one upstream repository (one per repository, reused). */
  source(r: Route): RegistryMoteCache {
    let s = r.upstream.sources.get(r.repository);
    if (!s) r.upstream.sources.set(r.repository, (s = new RegistryMoteCache({ registry: r.upstream.registry, repository: r.repository }, r.upstream.client)));
    return s;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.all.map((u) => u.client.destroy()));
  }
}

function hubName(u: Upstream, name: string): string {
  return u.hub && !name.includes('/') ? `library/${name}` : name;
}

function makeUpstream(spec: UpstreamSpec, clientOptions: RegistryClientOptions): Upstream {
  if (typeof spec !== 'object' || spec === null || typeof spec.url !== 'string') throw new InvalidArgumentError('serve: each upstream needs a url');
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    throw new InvalidArgumentError(`serve: upstream url ${JSON.stringify(spec.url)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`serve: upstream url ${JSON.stringify(spec.url)} must be http or https`);
  if (spec.prefix !== undefined && !/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(spec.prefix)) {
    throw new InvalidArgumentError(`serve: upstream prefix ${JSON.stringify(spec.prefix)} is not a repository path`);
  }
  const registry = url.host;
  const hub = HUB.has(url.hostname) || (spec.host !== undefined && HUB.has(spec.host));
  const hosts = new Set([registry.toLowerCase(), ...(spec.host ? [spec.host.toLowerCase()] : [])]);
  const insecure = url.protocol === 'http:' ? [registry, ...(clientOptions.insecure ?? [])] : clientOptions.insecure;
  const client = new RegistryClient({ retry: UPSTREAM_RETRY, ...clientOptions, ...(spec.authFile ? { authFile: spec.authFile } : {}), ...(insecure ? { insecure } : {}) });
  return { spec, registry, hosts, hub, client, sources: new Map() };
}
