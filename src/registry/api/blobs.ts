/** Blobs: HEAD (size), existence, and GET of a whole blob or a range of it, with the body held to its length. */
import { Readable } from 'node:stream';
import { AbortError, InvalidArgumentError } from '../../errors.js';
import { parseDigest } from '../../digest/index.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { DEFAULT_MEDIA_TYPE, mediaTypeOfContentType } from '../../oci/media-types.js';
import { repositoryScope } from '../auth/authenticator.js';
import { RegistryNotFoundError, RegistryProtocolError, RegistryRangeError } from '../errors.js';
import { toRepositoryName } from '../names.js';
import { BoundedBody, discard, slowBodyPolicy } from '../transport/body.js';
import { header, parseContentRange } from '../transport/headers.js';
import type { Transport } from '../transport/request.js';
import { errorFrom } from '../transport/response-errors.js';
import type { Send } from '../transport/types.js';
import type { BlobResponse, RepositoryName, RequestOptions } from '../types.js';

export interface BlobRangeOptions extends RequestOptions {
  /** First byte to fetch. Default 0. */
  offset?: number;
  /** Bytes to fetch from `offset`. Default: to the end. */
  length?: number;
  /** Called with the size of every chunk received (for progress and byte counts). */
  onBytes?: (n: number) => void;
}

function blobSend(method: 'GET' | 'HEAD', registry: string, repository: string, digest: string, signal?: AbortSignal, headers?: Record<string, string>): Send {
  return {
    registry,
    method,
    target: `/v2/${repository}/blobs/${digest}`,
    ...(headers ? { headers } : {}),
    scopes: [repositoryScope(repository, 'pull')],
    repository,
    retry: true,
    followRedirects: true,
    signal,
    what: `blob ${registry}/${repository}@${digest}`,
    notFoundCode: 'BLOB_UNKNOWN',
  };
}

/** A blob's size (and media type as served, usually `application/octet-stream`); `RegistryNotFoundError` if absent. */
export async function headBlob(t: Transport, repo: RepositoryName | string, digest: string, options: RequestOptions): Promise<Descriptor> {
  const { registry, repository } = toRepositoryName(repo);
  parseDigest(digest);
  const s = blobSend('HEAD', registry, repository, digest, options.signal);
  const res = await t.send(s);
  discard(res.body);
  if (res.status !== 200) throw await errorFrom(s, res);
  const size = Number(header(res.headers, 'content-length'));
  if (!Number.isSafeInteger(size) || size < 0) throw new RegistryProtocolError(`${s.what}: no usable Content-Length`, { registry, status: 200 });
  return { mediaType: mediaTypeOfContentType(header(res.headers, 'content-type')) ?? DEFAULT_MEDIA_TYPE, digest, size };
}

/** True if the blob is in the repository (HEAD). */
export async function blobExists(t: Transport, repo: RepositoryName | string, digest: string, options: RequestOptions): Promise<boolean> {
  try {
    await headBlob(t, repo, digest, options);
    return true;
  } catch (err) {
    if (err instanceof RegistryNotFoundError) return false;
    throw err;
  }
}

/**
 * Opens a blob, or a range of it. A 206 must carry the `Content-Range` asked for; a 200 to a ranged request
 * (a server or proxy that ignores `Range`) is served by skipping to the offset. An unsatisfiable range (416)
 * is an error unless `offset` is exactly the size (then the body is empty); its body is never read. The body
 * errors with `RegistryProtocolError` if it ends short. Retries happen only until the body is returned.
 */
export async function getBlob(t: Transport, repo: RepositoryName | string, digest: string, options: BlobRangeOptions): Promise<BlobResponse> {
  const { registry, repository } = toRepositoryName(repo);
  parseDigest(digest);
  const offset = options.offset ?? 0;
  const length = options.length;
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError(`getBlob: offset must be a non-negative integer`);
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) throw new InvalidArgumentError(`getBlob: length must be a non-negative integer`);
  const ranged = offset > 0 || length !== undefined;
  if (length === 0) {
    const d = await headBlob(t, { registry, repository }, digest, options);
    if (offset > d.size) throw new RegistryRangeError(`blob ${registry}/${repository}@${digest}: offset ${offset} is past its end (${d.size} bytes)`, { registry, offset, size: d.size });
    return { body: Readable.from([]), size: d.size, offset, length: 0 };
  }
  const rangeHeader = ranged ? { range: `bytes=${offset}-${length !== undefined ? offset + length - 1 : ''}` } : undefined;
  const s = blobSend('GET', registry, repository, digest, options.signal, rangeHeader);
  const res = await t.send(s);
  const fail = (message: string, cause?: unknown) => new RegistryProtocolError(`${s.what}: ${message}`, { registry, status: res.status, cause });
  let size: number;
  let skip = 0;
  let deliver: number;
  if (res.status === 206 && ranged) {
    const cr = parseContentRange(header(res.headers, 'content-range'));
    if (!cr || cr.total === undefined || cr.start !== offset || cr.end < cr.start) {
      discard(res.body);
      throw fail(`Content-Range ${JSON.stringify(header(res.headers, 'content-range') ?? null)} does not answer bytes=${offset}-`);
    }
    size = cr.total;
    const wantedEnd = length !== undefined ? Math.min(offset + length, size) - 1 : size - 1;
    if (cr.end !== wantedEnd) {
      discard(res.body);
      throw fail(`Content-Range ${cr.start}-${cr.end}/${cr.total} is not the range asked for (${offset}-${wantedEnd})`);
    }
    deliver = cr.end - cr.start + 1;
  } else if (res.status === 200) {
    size = Number(header(res.headers, 'content-length'));
    if (!Number.isSafeInteger(size) || size < 0) {
      discard(res.body);
      throw fail('no usable Content-Length');
    }
    if (offset > size) {
      discard(res.body);
      throw new RegistryRangeError(`${s.what}: offset ${offset} is past its end (${size} bytes)`, { registry, status: 200, offset, size });
    }
    skip = offset;
    deliver = length !== undefined ? Math.min(length, size - offset) : size - offset;
  } else if (res.status === 416 && ranged) {
    // Never read: distribution's 416 claims the blob's length in Content-Length and sends 31 bytes.
    discard(res.body);
    const total = /^bytes \*\/(\d+)$/.exec(header(res.headers, 'content-range') ?? '')?.[1];
    const known = total !== undefined ? Number(total) : (await headBlob(t, { registry, repository }, digest, options)).size;
    if (offset === known) return { body: Readable.from([]), size: known, offset, length: 0 };
    throw new RegistryRangeError(`${s.what}: range from ${offset} not satisfiable (blob is ${known} bytes)`, { registry, status: 416, offset, size: known });
  } else {
    throw await errorFrom(s, res);
  }
  const signal = options.signal;
  const body = new BoundedBody(res.body, {
    skip,
    length: deliver,
    onBytes: options.onBytes,
    shortError: (delivered, cause) => fail(`the body ended after ${delivered} of ${deliver} bytes`, cause),
    mapError: () => (signal?.aborted ? new AbortError(signal.reason) : undefined),
    slow: slowBodyPolicy(res, s.what, registry),
  });
  // The client's close() destroys it if nobody reads it (it would hold its connection, and close(), forever).
  t.handOut(body, () => body.delivered);
  return { body, size, offset, length: deliver };
}
