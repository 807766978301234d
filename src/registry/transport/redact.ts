/** URLs as they may appear in events and errors: no credentials, no signed query strings. */

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
