/**
 * What the transport sends and returns: one logical request (`Send`, which the transport may turn into several
 * HTTP exchanges: auth round, redirects, retries) and the response handed back to the API call.
 */
import type { Readable } from 'node:stream';
import type { ResolvedMinTransferRate } from './rate-guard.js';

export type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
export type Headers = Record<string, string | string[] | undefined>;

export interface Send {
  /** The registry as the user named it (credentials, auth state and errors are keyed by it). */
  registry: string;
  method: Method;
  /** A path (`/v2/...`) on the registry's origin, or an absolute URL (a `Location`, a token realm). */
  target: string;
  headers?: Record<string, string>;
  /** A replayable body; a stream can be sent once only (its request is then never retried). */
  body?: Buffer | Readable;
  scopes: readonly string[];
  repository?: string | undefined;
  /** Safe to send again after a failure (idempotent and with a replayable body). */
  retry: boolean;
  /** Token realms are not authenticated through the registry's challenge. */
  noAuth?: boolean;
  followRedirects?: boolean;
  signal?: AbortSignal | undefined;
  /** For messages: "manifest foo:1.0", "blob sha256:…". */
  what: string;
  /** registryCode to report on a 404 without a body (HEAD). */
  notFoundCode?: string;
}

export interface Response {
  status: number;
  headers: Headers;
  body: Readable;
  url: URL;
  /** The client's minimum transfer rate, for whoever reads `body` (see `rate-guard.ts`); undefined: off. */
  minRate?: ResolvedMinTransferRate | undefined;
}
