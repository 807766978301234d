/**
 * Errors in the distribution spec's JSON shape (`{"errors":[{"code","message","detail"}]}`), with the spec's codes
 * and statuses. Handlers throw `SpecError`; the router turns it (and anything else, as a 5xx) into the answer.
 */
import type { ServerResponse } from 'node:http';
import { ErrorCategory, errorCategory } from '../errors.js';
import { RegistryAuthError, RegistryRateLimitError } from '../registry/errors.js';

/** The spec's error codes this server answers with, and their statuses. */
export const SPEC_CODES = {
  BLOB_UNKNOWN: 404,
  MANIFEST_UNKNOWN: 404,
  NAME_UNKNOWN: 404,
  NAME_INVALID: 400,
  DIGEST_INVALID: 400,
  TAG_INVALID: 400,
  MANIFEST_INVALID: 400,
  RANGE_INVALID: 416,
  PAGINATION_NUMBER_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  NOT_FOUND: 404,
  NOT_ACCEPTABLE: 406,
  UPSTREAM_UNAVAILABLE: 503,
  UPSTREAM_ERROR: 502,
  INTERNAL: 500,
} as const;
export type SpecCode = keyof typeof SPEC_CODES;

export class SpecError extends Error {
  readonly status: number;
  constructor(readonly code: SpecCode, message: string, readonly detail?: unknown, status?: number) {
    super(message);
    this.name = 'SpecError';
    this.status = status ?? SPEC_CODES[code];
  }
}

/**
 * A failure of the upstream (or of the store) as a spec error: not found stays 404 with the route's code, a
 * rate limit 429, refused credentials 502 (the mirror's own credentials, not the client's), anything else 502/503.
 */
export function upstreamError(err: unknown, notFound: SpecCode): SpecError {
  if (err instanceof SpecError) return err;
  const category = errorCategory(err);
  if (category === ErrorCategory.NotFound) return new SpecError(notFound, 'not found upstream');
  if (err instanceof RegistryRateLimitError) return new SpecError('TOOMANYREQUESTS', 'the upstream rate limits this mirror');
  if (err instanceof RegistryAuthError) return new SpecError('UPSTREAM_ERROR', 'the upstream refused the mirror\'s credentials');
  const code = (err as { code?: unknown } | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (category === ErrorCategory.Unavailable) return new SpecError('UPSTREAM_UNAVAILABLE', `upstream unavailable: ${message}`);
  return new SpecError('UPSTREAM_ERROR', `upstream failed: ${message}`, typeof code === 'string' ? { code } : undefined);
}

/** Writes a spec error (headers already sent: the connection is cut, so the client sees a short body). */
export function sendError(res: ServerResponse, err: SpecError, head = false): void {
  if (res.headersSent) return void res.destroy();
  const body = `${JSON.stringify({ errors: [{ code: err.code, message: err.message, ...(err.detail !== undefined ? { detail: err.detail } : {}) }] })}\n`;
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  if (err.code === 'UNAUTHORIZED') headers['www-authenticate'] = 'Basic realm="mote serve"';
  if (err.code === 'UNSUPPORTED') headers.allow = 'GET, HEAD';
  res.writeHead(err.status, headers);
  res.end(head ? undefined : body);
}
