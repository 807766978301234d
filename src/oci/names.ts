/**
 * The name grammar of the OCI distribution spec, in one place: registry hosts, repository path components and
 * tags. References, registry URLs, destinations and layout `ref.name`s all check against these, so no input can
 * change the path a request goes to (`..`, `?`, `#`, encoded separators) or name a file it should not, and every
 * registry accepted here makes a URL: nothing the grammar lets through fails later as `ERR_INVALID_URL`.
 */
import { isIPv6 } from 'node:net';

// A domain component: alphanumerics, with inner hyphens. A registry is components joined by '.', or a bracketed
// IPv6 address, optionally with a port.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const REGISTRY_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[([a-fA-F0-9:.]+)\\])(?::([0-9]+))?$`);
// A path component: lowercase alphanumerics, separated by '.', '_', '__' or any number of '-'.
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;

/** The distribution spec's limit on `registry/repository`. */
export const MAX_NAME_LENGTH = 255;

/** The largest TCP port. */
export const MAX_PORT = 65_535;

/**
 * What is wrong with a registry `host[:port]` / `[v6][:port]`, or `undefined` if nothing is. Beyond the shape: a
 * port is 1 to 65535 written without leading zeros (port 0 means "any port" to a socket, a request to it cannot
 * succeed; `:05000` and `:5000` would be one registry under two names, for credentials and caches alike), a
 * bracketed address is an IPv6 address, and the whole makes a URL (`999.1.1.1` does not: a dotted-number host
 * is read as an IPv4 address).
 */
export function registryHostProblem(s: unknown): string | undefined {
  if (typeof s !== 'string') return 'not a string';
  const m = REGISTRY_RE.exec(s);
  if (!m) return 'not a host name or [IPv6 address], with an optional :port';
  const [, v6, port] = m;
  if (v6 !== undefined && !isIPv6(v6)) return `${JSON.stringify(v6)} is not an IPv6 address`;
  if (port !== undefined && (!/^[1-9][0-9]{0,4}$/.test(port) || Number(port) > MAX_PORT)) {
    return `port ${port} is not a port (1 to ${MAX_PORT}, no leading zeros)`;
  }
  if (!URL.canParse(`http://${s}/`)) return 'not a valid host (a dotted-number host must be an IPv4 address)';
  return undefined;
}

/** `host[:port]` or `[v6]:port`, by {@link registryHostProblem}. */
export function isValidRegistryHost(s: unknown): s is string {
  return registryHostProblem(s) === undefined;
}

/** One component of a repository path (`library`, `alpine`, `my-app.v2`). */
export function isValidPathComponent(s: string): boolean {
  return PATH_COMPONENT_RE.test(s);
}

/** A repository path: one or more valid components joined by `/`. */
export function isValidRepository(s: unknown): s is string {
  return typeof s === 'string' && s !== '' && s.split('/').every(isValidPathComponent);
}

/** A tag (`[\w][\w.-]{0,127}`), which is also what an OCI layout's `ref.name` is used for here. */
export function isValidTag(s: unknown): s is string {
  return typeof s === 'string' && TAG_RE.test(s);
}
