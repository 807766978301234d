/**
 * The registry's metadata caches (distribution's `registry/storage/cache`): `LayerInfoCache` (v2.0.0) and its
 * successor `BlobDescriptorCache` (v2.1+ `BlobDescriptorCacheProvider`). They only remember facts about blobs;
 * they never hold blob bytes, and a miss always means "ask the storage backend".
 */
import { BlobUnknownError, InvalidArgumentError, InvalidDescriptorError } from '../errors.js';
import { isDigest } from '../digest/index.js';
import { MAX_NAME_LENGTH, isValidRepository } from '../oci/names.js';

/** Where a layer lives on the storage backend, and how long it is. */
export interface LayerMeta {
  /** Backend path of the layer data; never empty. */
  path: string;
  /** Length in bytes: a safe integer >= 0. */
  length: number;
}

/**
 * Driver-aware cache of layer metadata (seed 002): repository membership plus backend location and length, to
 * skip round trips to storage. Every method is async and validates its arguments (typed errors) before it touches
 * the backing store: an empty or malformed repository name or path is an `InvalidArgumentError`, a malformed
 * digest an `InvalidDigestError`. A store that cannot be reached gives `CacheUnavailableError` in bounded time.
 */
export interface LayerInfoCache {
  /** True if `repo` is known to contain the layer `digest` (a previous {@link add}). */
  contains(repo: string, digest: string): Promise<boolean>;
  /** Records that `repo` contains `digest`. Idempotent. */
  add(repo: string, digest: string): Promise<void>;
  /**
   * The backend location and length of `digest`, or `BlobUnknownError` when unknown. Membership of a repository
   * is not checked here: call {@link contains} first when it matters.
   */
  meta(digest: string): Promise<LayerMeta>;
  /** Sets (replaces) the metadata of `digest`; `meta.path` must be non-empty, `meta.length` >= 0. */
  setMeta(digest: string, meta: LayerMeta): Promise<void>;
}

/** An OCI descriptor, reduced to what the registry's cache keeps. */
export interface BlobDescriptor {
  /** Canonical digest of the content; a valid digest. */
  digest: string;
  /** Size in bytes: a safe integer >= 0. */
  size: number;
  /** Media type; non-empty. */
  mediaType: string;
}

/**
 * Blob descriptor cache (distribution v2.1+ `BlobDescriptorCacheProvider`): a global map from digest to
 * descriptor, plus repository-scoped views that record membership and a per-repository media type.
 *
 * - `setDescriptor(d, desc)` stores `desc` under `d` and, when `desc.digest !== d` (an alternate digest, e.g. a
 *   compressed variant's), under `desc.digest` as well, so that both stat to `desc`.
 * - Descriptors need a valid digest, a size >= 0 and a media type (`InvalidDescriptorError`); digests given as
 *   keys are validated (`InvalidDigestError`).
 * - `clear(d)` removes every field the cache wrote for `d` (the original left `size` behind). It is idempotent:
 *   clearing an unknown digest succeeds.
 */
export interface BlobDescriptorCache {
  /** The descriptor stored under `digest`, or `BlobUnknownError`. */
  stat(digest: string): Promise<BlobDescriptor>;
  /** Stores `descriptor` under `digest` (and under `descriptor.digest` when different). */
  setDescriptor(digest: string, descriptor: BlobDescriptor): Promise<void>;
  /**
   * Forgets `digest`. On the global cache: the global entry. On a repository-scoped cache: the repository's
   * membership and media type, and the global entry too (a blob deleted from a repository must not be served
   * from a stale global entry; other repositories then miss and re-stat the backend).
   */
  clear(digest: string): Promise<void>;
  /**
   * A view of this cache scoped to `repo` (a valid repository name, else `InvalidArgumentError`). `stat` there
   * answers only for digests recorded in that repository, with the repository's own media type; its
   * `setDescriptor` also creates the global entry when missing but never changes the global media type.
   */
  repositoryScoped(repo: string): BlobDescriptorCache;
}

/** distribution's limit on a repository name. */
export const MAX_REPOSITORY_LENGTH = MAX_NAME_LENGTH;

/**
 * Validates a repository name (`library/alpine`, `team/app-x`): non-empty, at most 255 characters, lowercase
 * path components as in the OCI distribution spec. This also keeps `::` (the Redis key separator) out of keys.
 */
export function validateRepository(repo: unknown): string {
  if (typeof repo !== 'string' || repo === '') throw new InvalidArgumentError('repository name must be a non-empty string');
  if (repo.length > MAX_REPOSITORY_LENGTH) {
    throw new InvalidArgumentError(`repository name longer than ${MAX_REPOSITORY_LENGTH} characters`);
  }
  if (!isValidRepository(repo)) {
    throw new InvalidArgumentError(`invalid repository name ${JSON.stringify(repo).slice(0, 300)}`);
  }
  return repo;
}

const CONTROL = /[\u0000-\u001f\u007f]/;

function isSize(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Validates a descriptor and returns a plain copy holding only the three cached fields. */
export function validateDescriptor(desc: unknown): BlobDescriptor {
  if (typeof desc !== 'object' || desc === null) throw new InvalidDescriptorError('not an object');
  const d = desc as Partial<BlobDescriptor>;
  if (!isDigest(d.digest)) throw new InvalidDescriptorError(`invalid digest ${JSON.stringify(String(d.digest)).slice(0, 200)}`);
  if (!isSize(d.size)) throw new InvalidDescriptorError(`size must be an integer >= 0, got ${String(d.size)}`);
  if (typeof d.mediaType !== 'string' || d.mediaType === '') throw new InvalidDescriptorError('media type is required');
  if (CONTROL.test(d.mediaType) || d.mediaType.length > 1024) throw new InvalidDescriptorError('malformed media type');
  return { digest: d.digest, size: d.size, mediaType: d.mediaType };
}

/** Validates layer metadata and returns a plain copy. */
export function validateLayerMeta(meta: unknown): LayerMeta {
  if (typeof meta !== 'object' || meta === null) throw new InvalidArgumentError('layer meta must be an object');
  const m = meta as Partial<LayerMeta>;
  if (typeof m.path !== 'string' || m.path === '') throw new InvalidArgumentError('layer meta path must be a non-empty string');
  if (!isSize(m.length)) throw new InvalidArgumentError(`layer meta length must be an integer >= 0, got ${String(m.length)}`);
  return { path: m.path, length: m.length };
}

/** Shorthand used by the backends. */
export function unknown(digest: string): BlobUnknownError {
  return new BlobUnknownError(digest);
}
