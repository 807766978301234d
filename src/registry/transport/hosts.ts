/**
 * Where a registry name is reached, and how: the API host (`docker.io` is served by `registry-1.docker.io`) and the
 * scheme decision (HTTPS with verified TLS unless the user said otherwise).
 */
import net from 'node:net';

/** Registry names that all mean Docker Hub. */
const DOCKER_HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** The host Docker Hub's API is served from. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

/** `host[:port]` the API requests go to. Only Docker Hub is renamed. */
export function apiHost(registry: string): string {
  return DOCKER_HUB_NAMES.has(registry.toLowerCase()) ? DOCKER_HUB_API_HOST : registry;
}

/** Splits `host[:port]` / `[v6]:port` into its host (brackets removed) and port. */
export function splitHostPort(hostPort: string): { host: string; port: string | undefined } {
  if (hostPort.startsWith('[')) {
    const end = hostPort.indexOf(']');
    const host = hostPort.slice(1, end < 0 ? undefined : end);
    const rest = end < 0 ? '' : hostPort.slice(end + 1);
    return { host, port: rest.startsWith(':') ? rest.slice(1) : undefined };
  }
  const colon = hostPort.lastIndexOf(':');
  // A bare IPv6 address without brackets has several colons and no port.
  if (colon < 0 || hostPort.indexOf(':') !== colon) return { host: hostPort, port: undefined };
  return { host: hostPort.slice(0, colon), port: hostPort.slice(colon + 1) };
}

/**
 * Loopback *by name*: `localhost`, an IPv4 address in 127.0.0.0/8, or `::1`. Deliberately not resolved through
 * DNS: a name that merely resolves to 127.0.0.1 today may not tomorrow, and deciding on plain HTTP from a DNS
 * answer would let whoever controls DNS downgrade the connection.
 */
export function isLoopbackHost(hostPort: string): boolean {
  const { host } = splitHostPort(hostPort);
  const h = host.toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

/** How one registry is reached. */
export interface TransportDecision {
  /** Schemes to try, in order; the first that connects is kept for the registry. */
  schemes: ReadonlyArray<'https' | 'http'>;
  /** Whether TLS certificates are verified. */
  verifyTls: boolean;
}

/**
 * The scheme decision.
 * - A host listed in `insecure` (as `host` or `host:port`): HTTPS without certificate verification first, then
 *   plain HTTP if HTTPS cannot be spoken at all (what skopeo and containers/image do for insecure registries).
 * - A loopback host (by name, see {@link isLoopbackHost}) not listed: plain HTTP directly. Its traffic never
 *   leaves the machine, so TLS would protect nothing an attacker on the network could reach, and registries
 *   run for development and tests on loopback are almost always plain HTTP: probing HTTPS first would only
 *   cost a failed handshake per origin.
 * - Everything else: HTTPS with verified certificates, and nothing else.
 */
export function transportFor(registry: string, insecure: readonly string[] = []): TransportDecision {
  const host = apiHost(registry).toLowerCase();
  const { host: bare } = splitHostPort(host);
  const listed = insecure.some((i) => {
    const entry = i.toLowerCase();
    const parsed = splitHostPort(entry);
    // `host:port` names one origin; a bare `host` names every port of it.
    return entry === host || (parsed.port === undefined && parsed.host === bare);
  });
  if (listed) return { schemes: ['https', 'http'], verifyTls: false };
  if (isLoopbackHost(host)) return { schemes: ['http'], verifyTls: true };
  return { schemes: ['https'], verifyTls: true };
}

/** True if a URL of this scheme and host may be used at all (a redirect target, a token realm). */
export function schemeAllowed(url: URL, insecure: readonly string[] = []): boolean {
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  return transportFor(url.host, insecure).schemes.includes('http');
}

/**
 * True if a request may go on from `from` to `to` (a redirect, an upload session's `Location`): the bytes and the
 * credentials that follow must not go over plain HTTP to a host where plain HTTP is not allowed, nor from HTTPS
 * down to HTTP unless the target host may be reached over HTTP.
 */
export function mayFollow(from: URL, to: URL, insecure: readonly string[]): boolean {
  return schemeAllowed(to, insecure) && !(from.protocol === 'https:' && to.protocol === 'http:' && !transportFor(to.host, insecure).schemes.includes('http'));
}
