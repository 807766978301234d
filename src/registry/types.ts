/**
 * Contracts of the registry layer. The client (`client.ts`) talks the OCI distribution API; everything above it
 * (the registry-backed MoteCache, `pull`) uses only what is declared here.
 */
import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/descriptor.js';

/** A repository in a registry. `Reference` (from `src/reference`) satisfies it. */
export interface RepositoryName {
  /** `host[:port]` as the user wrote it (`docker.io` is sent to `registry-1.docker.io`). */
  readonly registry: string;
  /** `library/alpine`, `foo/bar`. */
  readonly repository: string;
}

export interface RequestOptions {
  /** Aborts the request, its retries and its backoff waits; the body is closed. Rejects with `AbortError`. */
  signal?: AbortSignal;
}

/** A manifest or index as fetched: its bytes, verified against the digest when fetched by digest. */
export interface FetchedManifest {
  /** `mediaType` from `Content-Type` (else the document's own `mediaType`), `digest` of the bytes, `size`. */
  descriptor: Descriptor;
  bytes: Buffer;
}

/** An open blob body. Consume or destroy `body`: either releases the connection. */
export interface BlobResponse {
  body: Readable;
  /** Total size of the blob. */
  size: number;
  /** Offset of the first byte `body` carries (0 unless a range was asked for). */
  offset: number;
  /** Bytes `body` carries. The body errors with `RegistryProtocolError` if it ends short. */
  length: number;
}

/** What the client reports as it works (for progress, logs and tests). URLs carry no credentials. */
export type RegistryEvent =
  | { type: 'response'; method: string; url: string; status: number; attempt: number; durationMs: number }
  | { type: 'retry'; method: string; url: string; attempt: number; delayMs: number; reason: string }
  | { type: 'rate-limit'; host: string; requestsPerSecond: number }
  /**
   * A credential lookup for `registry` (after it asked for authentication): `source` is where the credential came
   * from (an auth file, or `docker-credential-<name>` and the file naming it), absent when there is none
   * (anonymous). Never the credential itself.
   */
  | { type: 'credential'; registry: string; source?: string }
  /** A mirror of `registry` failed a read (`reason`); the next mirror, or the registry itself, is asked. */
  | { type: 'mirror-fallback'; registry: string; mirror: string; reason: string };

export interface RetryOptions {
  /** Attempts per request including the first. Default 5. */
  maxAttempts?: number;
  /** First backoff; doubles each retry, with full jitter. Default 250 ms. */
  baseDelayMs?: number;
  /** Cap of one backoff wait. Default 10 s. */
  maxDelayMs?: number;
  /** A `Retry-After` longer than this is not waited for: the error is returned instead. Default 60 s. */
  maxRetryAfterMs?: number;
}

export interface MinTransferRate {
  /** Bytes that must arrive within each window. Default 64 KiB. */
  bytes?: number;
  /** The window. Default 60 s. */
  windowMs?: number;
}

export interface RateLimitOptions {
  /** Steady requests per second per host. Default 100. */
  requestsPerSecond?: number;
  /** Burst size. Default 50. */
  burst?: number;
  /** Floor the limiter never goes below after repeated 429s. Default 0.5 rps. */
  minRequestsPerSecond?: number;
  /**
   * Part of a budget the registry announces (`RateLimit-Limit` / `RateLimit-Remaining`) this client leaves alone:
   * with 0.2, manifest GETs to a host stop (`ERR_REGISTRY_RATE_LIMITED`, at once) once a fifth of its budget is
   * left, until it resets. Default 0: use it all. A background warmer sets it so that people's pulls still work.
   */
  reserveFraction?: number;
}

export interface RegistryClientOptions {
  /**
   * Where credentials come from. Default: `authFile` alone if given, else every auth file in turn (`$REGISTRY_AUTH_FILE`,
   * `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`, `$DOCKER_CONFIG/config.json` or
   * `~/.docker/config.json`, `~/.dockercfg`: the first that has the registry gives its credential, through the
   * credential helper it names when it does; re-read when they change). See `FileCredentialSource`.
   * `false`: anonymous only.
   */
  credentials?: CredentialSource | false;
  /**
   * An auth file (Docker `config.json` or containers `auth.json` format) to use instead of the defaults. Read when
   * the client is built: a missing, unreadable or malformed file (or `''`) throws `InvalidCredentialsError` from the
   * constructor, before any request. It is re-read when it changes, like the defaults. Not together with
   * `credentials` (`InvalidArgumentError`).
   */
  authFile?: string;
  /**
   * Hosts (`host` or `host:port`) that may be reached over plain HTTP or TLS without verification. Loopback
   * hosts (`localhost`, `127.0.0.0/8`, `[::1]`) may use plain HTTP without being listed. Everything else is
   * HTTPS with verified certificates.
   */
  insecure?: readonly string[];
  /**
   * Mirrors per registry host, tried in order for reads (manifests and blobs) before the registry itself, as
   * containers' `registries.conf` does; any failure of a mirror falls through to the next (see `MirrorTable`).
   * Guarantee: content is verified by digest whichever answers, and a mirror's failure (wrong bytes included) costs
   * time, not the read. What a tag means is the mirror's answer unless `digestOnly` (as with registries.conf: a
   * mirror may lag behind). Manifests are verified inside the call, so wrong bytes there fall through. A blob's body is
   * verified by its reader after `getBlob` returned: a reader told of wrong bytes calls `rejectServed`, and a read
   * from the start then goes to the next mirror or the registry (`pull()` and `PullThroughCache` do this).
   */
  mirrors?: MirrorsOption;
  retry?: RetryOptions;
  rateLimit?: RateLimitOptions;
  /** Connections per registry origin. Default 8. */
  connections?: number;
  /** Time to wait for response headers, and for each chunk of a body. Default 30 s. */
  timeoutMs?: number;
  /**
   * The slowest a response body may arrive: fewer than `bytes` in `windowMs` (while it is being read) fails it with
   * `RegistryTooSlowError`. Default 64 KiB per 60 s (`MIN_TRANSFER_RATE_DEFAULTS`); `false` turns it off.
   */
  minTransferRate?: MinTransferRate | false;
  userAgent?: string;
  onEvent?: (event: RegistryEvent) => void;
}

/** A username/password (or identity token) for one registry. Never logged, never in errors. */
export interface Credential {
  username: string;
  password: string;
  /** An OAuth2 refresh token (`identitytoken` in config.json): used instead of the password for Bearer tokens. */
  identityToken?: string | undefined;
}

/**
 * Looks up the credential for a registry host (`host[:port]`, already normalised). `repository` lets auth files
 * with namespaced keys (`host/ns/repo`, as in containers' auth.json) pick the most specific entry.
 */
export interface CredentialSource {
  get(registry: string, repository?: string): Promise<Credential | undefined>;
}

/** Registry mirrors (see `MirrorTable` in mirrors.ts for what is read through them, and when). */
export interface RegistryMirror {
  /** `host[:port][/path]`. */
  location: string;
  /** Plain HTTP or unverified TLS allowed for this mirror (as `RegistryClientOptions.insecure`). */
  insecure?: boolean;
}

export interface RegistryMirrors {
  mirrors: readonly RegistryMirror[];
  /** Mirrors answer manifests by digest (and blobs) only; a tag is resolved by the registry. Default false. */
  digestOnly?: boolean;
}

/** Mirrors per registry host. */
export type MirrorsOption = Readonly<Record<string, RegistryMirrors>>;
