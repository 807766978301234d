/**
 * Failures as typed registry errors: a response that is not what was wanted (by status, with the registry's own
 * error code), and a request that got no response at all (TLS refused, or the network, after the retries).
 */
import {
  RegistryAuthError,
  RegistryError,
  RegistryInsecureError,
  RegistryNotFoundError,
  RegistryRateLimitError,
  RegistryUnavailableError,
} from '../errors.js';
import { ErrorCategory } from '../../errors.js';
import { MAX_ERROR_BODY_BYTES } from '../options.js';
import { discard, readCapped, slowBodyPolicy } from './body.js';
import { parseErrorBody } from './headers.js';
import { isRetryableError } from './retry.js';
import type { Method, Response, Send } from './types.js';

/** The typed error for a response that is not what was wanted. Reads (a capped) body, except of a 416 or HEAD. */
export async function errorFrom(s: Send, res: Response, hint?: string, attempts?: number): Promise<RegistryError> {
  let parsed: { code?: string; message?: string } = {};
  if (res.status === 416 || s.method === 'HEAD') discard(res.body);
  else parsed = parseErrorBody(await readCapped(res.body, MAX_ERROR_BODY_BYTES, slowBodyPolicy(res, s.what, s.registry)).catch(() => undefined));
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
  // 405: the registry does not do this here (a push to a pull-through proxy, a read-only mirror): no retry helps.
  if (status === 405) return new RegistryError('ERR_REGISTRY', message, { ...details, category: ErrorCategory.Unsupported });
  return new RegistryError('ERR_REGISTRY', message, details);
}

// TLS failures by error *code* only: messages are not a contract, and words like "TLS" also appear in messages
// of plain connection failures ("socket disconnected before secure TLS connection was established" is an
// ECONNRESET) and in host names (ENOTFOUND for tls-mirror.example). Misreading either as a TLS failure would
// advise `--insecure`, which weakens security, for a failure that a retry may heal.
const TLS_CODE_RE =
  /^(?:EPROTO$|ERR_SSL_|ERR_TLS_|CERT_|CRL_|ERROR_IN_(?:CERT|CRL)_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|INVALID_CA$|PATH_LENGTH_EXCEEDED$|INVALID_PURPOSE$)/;

/**
 * The code of a TLS failure (handshake, protocol, certificate) in `err` or its causes: retrying will not help,
 * and the user may need `--insecure`. `undefined` when any error of the chain is a retryable connection failure
 * (checked first: a reset during the handshake is the network's, not TLS's) or when no code says TLS.
 */
export function tlsFailureCode(err: unknown): string | undefined {
  if (isRetryableError(err)) return undefined;
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TLS_CODE_RE.test(code)) return code;
  }
  return undefined;
}

/**
 * The error for a TLS failure of a request to `url`, or `undefined` if `err` is not one. It says how to get past
 * it (marking the host insecure) and on what condition: the user's trust in the network to it.
 */
export function tlsFailure(err: unknown, url: URL, registry: string): RegistryInsecureError | undefined {
  const tls = tlsFailureCode(err);
  if (!tls) return undefined;
  return new RegistryInsecureError(
    `TLS with ${url.host} failed (${tls}); if this registry serves plain HTTP or a certificate you cannot verify, ` +
      `and you trust the network to it, mark it insecure (--insecure ${url.host})`,
    { registry, cause: err },
  );
}

/** A request that got no response, after `attempt` attempts. `shownUrl` is already redacted. */
export function unavailable(s: Send, method: Method, shownUrl: string, attempt: number, err: unknown): RegistryUnavailableError {
  return new RegistryUnavailableError(
    `${s.what}: ${method} ${shownUrl} failed after ${attempt} attempt${attempt > 1 ? 's' : ''}: ${(err as Error).message}`,
    { registry: s.registry, cause: err },
  );
}
