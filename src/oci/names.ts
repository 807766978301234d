/**
 * The name grammar of the OCI distribution spec, in one place: registry hosts, repository path components and
 * tags. References, registry URLs, destinations and layout `ref.name`s all check against these, so no input can
 * change the path a request goes to (`..`, `?`, `#`, encoded separators) or name a file it should not.
 */

// A domain component: alphanumerics, with inner hyphens. A registry is components joined by '.', or a bracketed
// IPv6 address, optionally with a port.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const REGISTRY_RE = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
// A path component: lowercase alphanumerics, separated by '.', '_', '__' or any number of '-'.
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;

/** The distribution spec's limit on `registry/repository`. */
export const MAX_NAME_LENGTH = 255;

/**
 * `host[:port]` or `[v6]:port`, which a URL can be made of: requests are built as `https://<host>/v2/...`, and
 * some names the grammar allows are no URL host (`a.1` and `1.2.3.256` read as bad IPv4 addresses, `[::1::2]`,
 * a port over 65535). Refused here, they are a bad reference, not a failure at the first request.
 */
export function isValidRegistryHost(s: unknown): s is string {
  return typeof s === 'string' && REGISTRY_RE.test(s) && URL.canParse(`https://${s}/`);
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
