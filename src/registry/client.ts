/**
 * An OCI distribution API client: manifests, tags, blobs (ranged), uploads and cross-repository mounts, with
 * Bearer/Basic auth, bounded retries, per-host adaptive rate limiting and strict TLS by default.
 *
 * This class only wires the parts together: the API calls are in `api/`, the request loop and connection policy
 * in `transport/`, authentication in `auth/`, every default and limit in `options.ts`. undici is imported on the
 * first request (see `transport/origin.ts`), so importing motecache stays fast.
 */
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors.js';
import { callSafely } from '../internal/listeners.js';
import type { Descriptor } from '../oci/descriptor.js';
import * as blobApi from './api/blobs.js';
import * as manifestApi from './api/manifests.js';
import * as tagApi from './api/tags.js';
import * as uploadApi from './api/uploads.js';
import type { BlobRangeOptions } from './api/blobs.js';
import type { PingResult, TagsOptions } from './api/tags.js';
import type { PushBlobOptions, PushBlobResult } from './api/uploads.js';
import { Authenticator } from './auth/authenticator.js';
import { MirrorTable } from './mirrors.js';
import { toRepositoryName } from './names.js';
import { isDigest } from '../digest/index.js';
import { FileCredentialSource } from './auth/credential-sources.js';
import { fetchToken } from './auth/token.js';
import { RateLimiter } from './transport/limiter.js';
import { Origins } from './transport/origin.js';
import { resolveMinTransferRate } from './transport/rate-guard.js';
import { Transport } from './transport/request.js';
import { resolveRetryOptions } from './transport/retry.js';
import type {
  BlobResponse,
  Credential,
  CredentialSource,
  FetchedManifest,
  RegistryClientOptions,
  RegistryEvent,
  RepositoryName,
  RequestOptions,
} from './types.js';

export { MAX_MANIFEST_BYTES } from './options.js';
export type { BlobRangeOptions, PingResult, PushBlobOptions, PushBlobResult, TagsOptions };

export class RegistryClient {
  readonly #origins: Origins;
  readonly #transport: Transport;
  readonly #mirrors: MirrorTable;
  readonly #emit: (e: RegistryEvent) => void;

  constructor(options: RegistryClientOptions = {}) {
    const o = { ...options };
    this.#mirrors = new MirrorTable(o.mirrors);
    const insecure = [...(o.insecure ?? []), ...this.#mirrors.insecureHosts];
    // The user's listener is called safely: its failure is not the request's.
    const emit = (e: RegistryEvent) => callSafely(o.onEvent, e);
    this.#emit = emit;
    if (o.authFile !== undefined && o.credentials !== undefined) {
      throw new InvalidArgumentError('RegistryClient: give either credentials or authFile, not both (one of them would be ignored)');
    }
    let credentials: CredentialSource | undefined;
    let files: FileCredentialSource | undefined;
    if (o.credentials === false) credentials = undefined;
    else if (o.credentials !== undefined) credentials = o.credentials;
    else {
      files = new FileCredentialSource({ authFile: o.authFile });
      // A file the caller named is read now: missing, unreadable or malformed is their error, found before any
      // request, not only once some registry happens to ask for credentials (or never, for anonymous pulls).
      if (o.authFile !== undefined) files.check();
      credentials = files;
    }
    // Where credentials came from is what a user debugging a 401 needs ("which file? which helper?"), never the
    // secret; said when it changes (a Basic-auth registry looks them up for every request).
    const told = new Map<string, string>();
    const tell = (registry: string, source: string | undefined): void => {
      if (told.get(registry) === (source ?? '')) return;
      told.set(registry, source ?? '');
      emit({ type: 'credential', registry, ...(source !== undefined && { source }) });
    };
    const lookup = async (registry: string, repository: string | undefined): Promise<Credential | undefined> => {
      if (!files) {
        const credential = await credentials?.get(registry, repository);
        tell(registry, credential && 'the credentials given to the client');
        return credential;
      }
      const found = await files.find(registry, repository);
      tell(registry, found && (found.helper ? `${found.helper} (named in ${found.file})` : found.file));
      return found?.credential;
    };
    const auth = new Authenticator((args) => fetchToken(this.#transport, args), lookup);
    this.#origins = new Origins({ insecure, timeoutMs: o.timeoutMs, connections: o.connections });
    this.#transport = new Transport({
      origins: this.#origins,
      limiter: new RateLimiter(o.rateLimit, (host, requestsPerSecond) => emit({ type: 'rate-limit', host, requestsPerSecond })),
      auth,
      retry: resolveRetryOptions(o.retry),
      insecure,
      userAgent: o.userAgent,
      emit,
      minRate: resolveMinTransferRate(o.minTransferRate),
    });
  }

  /** The URL of a path on a registry (for `moteRef` and messages): the probed scheme if known, else the preferred one. */
  urlFor(registry: string, path: string): string {
    return this.#origins.urlFor(registry, path);
  }

  /** `GET /v2/`: reachable, speaking the API, and (when it asks) authenticated. */
  ping(registry: string, options: RequestOptions = {}): Promise<PingResult> {
    return tagApi.ping(this.#transport, registry, options);
  }

  /** Every tag of a repository, following `Link` pagination. */
  tags(repo: RepositoryName | string, options: TagsOptions = {}): Promise<string[]> {
    return tagApi.tags(this.#transport, repo, options);
  }

  /**
   * A manifest or index by tag or digest. Its bytes are checked against the digest asked for, and against
   * `Docker-Content-Digest` when the registry sends one (`DigestMismatchError`); more than 4 MiB is refused.
   */
  getManifest(repo: RepositoryName | string, tagOrDigest: string, options: RequestOptions = {}): Promise<FetchedManifest> {
    return this.#read(repo, isDigest(tagOrDigest), options, (r) => manifestApi.getManifest(this.#transport, r, tagOrDigest, options));
  }

  /** A read through the repository's mirrors, if its registry has any (`mirrors`), then the registry. */
  // async: a bad name rejects, as every call of the client does, rather than throwing where it is called.
  async #read<T>(repo: RepositoryName | string, byDigest: boolean | string, options: RequestOptions, read: (repo: RepositoryName) => Promise<T>): Promise<T> {
    return this.#mirrors.read(toRepositoryName(repo), byDigest, this.#emit, read, options.signal);
  }

  /** A manifest's descriptor by HEAD (falls back to GET when a tag's digest is not in the headers). */
  headManifest(repo: RepositoryName | string, tagOrDigest: string, options: RequestOptions = {}): Promise<Descriptor> {
    return this.#read(repo, isDigest(tagOrDigest), options, (r) => manifestApi.headManifest(this.#transport, r, tagOrDigest, options));
  }

  /** Uploads a manifest under a tag or digest; returns its digest. Retried like a GET (a PUT of a manifest is idempotent). */
  putManifest(repo: RepositoryName | string, ref: string, bytes: Uint8Array, mediaType: string, options: RequestOptions = {}): Promise<string> {
    return manifestApi.putManifest(this.#transport, repo, ref, bytes, mediaType, options);
  }

  /** A blob's size (and media type as served, usually `application/octet-stream`); `RegistryNotFoundError` if absent. */
  headBlob(repo: RepositoryName | string, digest: string, options: RequestOptions = {}): Promise<Descriptor> {
    return this.#read(repo, true, options, (r) => blobApi.headBlob(this.#transport, r, digest, options));
  }

  /** True if the blob is in the repository (HEAD). */
  blobExists(repo: RepositoryName | string, digest: string, options: RequestOptions = {}): Promise<boolean> {
    // Not through mirrors: this asks about the registry itself (a push checks its destination with it).
    return blobApi.blobExists(this.#transport, repo, digest, options);
  }

  /**
   * Opens a blob, or a range of it. A 206 must carry the `Content-Range` asked for; a 200 to a ranged request
   * (a server or proxy that ignores `Range`) is served by skipping to the offset. An unsatisfiable range (416)
   * is an error unless `offset` is exactly the size (then the body is empty); its body is never read. The body
   * errors with `RegistryProtocolError` if it ends short. Retries happen only until the body is returned.
   */
  getBlob(repo: RepositoryName | string, digest: string, options: BlobRangeOptions = {}): Promise<BlobResponse> {
    // The digest itself, not `true`: a mirror whose bytes fail the reader's verification can then be passed over.
    return this.#read(repo, digest, options, (r) => blobApi.getBlob(this.#transport, r, digest, options));
  }

  /**
   * The bytes of `digest` read by `getBlob` for `repo` failed verification. If a mirror served them (see
   * `RegistryClientOptions.mirrors`), that mirror is not asked for this blob again and true is returned: read it
   * again from the start, and the next mirror or the registry answers. False: the registry served them.
   */
  rejectServed(repo: RepositoryName | string, digest: string): boolean {
    return this.#mirrors.reject(toRepositoryName(repo), digest, this.#emit);
  }

  /**
   * Uploads a blob unless the repository has it (HEAD first). One POST opens the session; the bytes go in one
   * `PUT ?digest=` or, with `chunkSize`, in PATCHes with `Content-Range` and a final empty PUT. The bytes are
   * hashed on the way: content that does not match `digest` fails with `DigestMismatchError` (and the session is
   * cancelled), a wrong `size` with `SizeMismatchError`.
   */
  pushBlob(
    repo: RepositoryName | string,
    digest: string,
    source: Uint8Array | Readable | AsyncIterable<Uint8Array>,
    options: PushBlobOptions = {},
  ): Promise<PushBlobResult> {
    return uploadApi.pushBlob(this.#transport, repo, digest, source, options);
  }

  /**
   * Cross-repository mount: `true` if the registry mounted the blob from `fromRepo` (201). A registry that opens
   * an upload session instead (202: it cannot or will not mount) has that session cancelled, and `false` is
   * returned: the caller then uploads.
   */
  mountBlob(repo: RepositoryName | string, digest: string, fromRepo: RepositoryName | string, options: RequestOptions = {}): Promise<boolean> {
    return uploadApi.mountBlob(this.#transport, repo, digest, fromRepo, options);
  }

  /**
   * Closes every connection, once the requests in flight are done. The client cannot be used afterwards. A blob
   * body (`getBlob`) that nobody reads is destroyed (quietly: no error event), since its connection would wait for it
   * forever; bodies being read may finish, but once none has moved for `graceMs` (default: the client's `timeoutMs`,
   * 30 s) what is still open is destroyed as by `destroy()` (those bodies error).
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    const { graceMs } = options;
    if (graceMs !== undefined && (!Number.isFinite(graceMs) || graceMs < 0)) throw new InvalidArgumentError(`close: graceMs must be a number of milliseconds >= 0, got ${graceMs}`);
    await this.#origins.close(false, graceMs);
  }

  /**
   * Closes every connection now: requests and bodies in flight fail (a body being read errors). For a caller that
   * gives up (an abort, a deadline) while something still reads through this client, where `close()` would wait
   * for it. The client cannot be used afterwards.
   */
  destroy(): Promise<void> {
    return this.#origins.close(true);
  }
}
