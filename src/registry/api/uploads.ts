/**
 * Uploads: pushing a blob (one PUT, or PATCHes of `chunkSize` bytes, hashed on the way) and cross-repository
 * mounts. The requests of an upload session are in `upload-session.ts`.
 */
import { Readable } from 'node:stream';
import { AbortError, InvalidArgumentError, SizeMismatchError } from '../../errors.js';
import { parseDigest, Verifier, verifyBytes } from '../../digest/index.js';
import { repositoryScope } from '../auth/authenticator.js';
import { RegistryProtocolError } from '../errors.js';
import { toRepositoryName } from '../names.js';
import type { Transport } from '../transport/request.js';
import type { RepositoryName, RequestOptions } from '../types.js';
import { blobExists } from './blobs.js';
import { cancelUpload, startUpload, uploadRequest, withDigest, type Session } from './upload-session.js';

export interface PushBlobOptions extends RequestOptions {
  /** Size of the blob; required for a stream when `chunkSize` is not given, checked in every case. */
  size?: number;
  /** Upload in PATCH requests of this many bytes (with `Content-Range`) instead of one PUT. */
  chunkSize?: number;
}

export interface PushBlobResult {
  digest: string;
  size: number;
  /** The blob was already in the repository; nothing was uploaded. */
  existed: boolean;
}

/**
 * Uploads a blob unless the repository has it (HEAD first). One POST opens the session; the bytes go in one
 * `PUT ?digest=` or, with `chunkSize`, in PATCHes with `Content-Range` and a final empty PUT. The bytes are
 * hashed on the way: content that does not match `digest` fails with `DigestMismatchError` (and the session is
 * cancelled), a wrong `size` with `SizeMismatchError`.
 */
export async function pushBlob(
  t: Transport,
  repo: RepositoryName | string,
  digest: string,
  source: Uint8Array | Readable | AsyncIterable<Uint8Array>,
  options: PushBlobOptions,
): Promise<PushBlobResult> {
  const { registry, repository } = toRepositoryName(repo);
  parseDigest(digest);
  const { size, chunkSize, signal } = options;
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 0)) throw new InvalidArgumentError('pushBlob: size must be a non-negative integer');
  if (chunkSize !== undefined && (!Number.isSafeInteger(chunkSize) || chunkSize <= 0)) throw new InvalidArgumentError('pushBlob: chunkSize must be a positive integer');
  const isBuffer = source instanceof Uint8Array;
  if (!isBuffer && chunkSize === undefined && size === undefined) throw new InvalidArgumentError('pushBlob: a stream needs `size` (or `chunkSize`)');
  if (isBuffer) verifyBytes(source, { digest, size });
  const session: Session = { t, registry, repository, signal, what: `blob ${registry}/${repository}@${digest}` };
  // The source is closed whenever it will not be read to its end (it exists, the upload failed): a stream is
  // destroyed, and an async iterator (a generator) is returned, so its `finally` runs and it holds no file open.
  const release = () => {
    if (source instanceof Readable) source.destroy();
    else if (!isBuffer) {
      const it = source as unknown as Partial<AsyncIterator<Uint8Array>>;
      if (typeof it.return === 'function') void Promise.resolve().then(() => it.return!()).catch(() => {});
    }
  };
  let started: { status: number; location: URL | undefined };
  try {
    if (await blobExists(t, { registry, repository }, digest, { signal })) {
      release();
      return { digest, size: isBuffer ? source.length : (size ?? -1), existed: true };
    }
    started = await startUpload(session, '');
  } catch (err) {
    release();
    throw err;
  }
  if (!started.location) {
    release();
    throw new RegistryProtocolError(`${session.what}: upload started without a Location`, { registry, status: started.status });
  }
  // Where the session is now: each PATCH may move it, and a failure cancels the session where it last was.
  const upload = { location: started.location };
  // Hashes and counts the bytes on their way out: the size as soon as a chunk would pass it, then the digest.
  const verifier = new Verifier({ digest, size });
  const found: Found = {};
  let sent: number;
  try {
    if (chunkSize !== undefined) sent = await uploadChunks(session, upload, digest, isBuffer ? [source] : source, chunkSize, verifier, found);
    else if (isBuffer) sent = await uploadBuffer(session, upload.location, digest, source);
    else sent = await uploadStream(session, upload.location, digest, source, size!, verifier, found);
  } catch (err) {
    release();
    await cancelUpload(session, upload.location);
    if (signal?.aborted && !(err instanceof AbortError)) throw new AbortError(signal.reason);
    throw found.sourceError ?? err;
  }
  return { digest, size: sent, existed: false };
}

/** A size mismatch found while streaming: reported as itself, not as the transport failure it causes. */
interface Found {
  sourceError?: Error;
}

/** Hashes and counts one chunk of the source; a size mismatch is the source's fault (recorded in `found`). */
function hashChunk(verifier: Verifier, chunk: Uint8Array, found: Found): void {
  try {
    verifier.update(chunk);
  } catch (err) {
    throw (found.sourceError = err as Error);
  }
}

/** PATCHes of `chunkSize` bytes with `Content-Range`, then an empty `PUT ?digest=`. Returns the bytes sent. */
async function uploadChunks(
  session: Session,
  upload: { location: URL },
  digest: string,
  source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  chunkSize: number,
  verifier: Verifier,
  found: Found,
): Promise<number> {
  let sent = 0;
  for await (const chunk of rechunk(source, chunkSize)) {
    hashChunk(verifier, chunk, found);
    const r = await uploadRequest(session, 'PATCH', upload.location, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length), {
      'content-type': 'application/octet-stream',
      'content-length': String(chunk.length),
      'content-range': `${sent}-${sent + chunk.length - 1}`,
    }, 202);
    sent += chunk.length;
    if (r.location) upload.location = r.location;
  }
  verifier.verify();
  await uploadRequest(session, 'PUT', withDigest(upload.location, digest), Buffer.alloc(0), { 'content-length': '0' }, 201);
  return sent;
}

/** The whole buffer (verified before the session opened) in one `PUT ?digest=`. Returns the bytes sent. */
async function uploadBuffer(session: Session, location: URL, digest: string, source: Uint8Array): Promise<number> {
  await uploadRequest(session, 'PUT', withDigest(location, digest), Buffer.from(source.buffer, source.byteOffset, source.length), {
    'content-type': 'application/octet-stream',
    'content-length': String(source.length),
  }, 201);
  return source.length;
}

/** A stream of `size` bytes in one `PUT ?digest=`, hashed and counted on its way out. Returns the bytes sent. */
async function uploadStream(
  session: Session,
  location: URL,
  digest: string,
  source: AsyncIterable<Uint8Array>,
  size: number,
  verifier: Verifier,
  found: Found,
): Promise<number> {
  const counted = Readable.from(
    (async function* () {
      for await (const c of source) {
        const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
        // Stops at the first byte too many rather than let the HTTP layer fail on Content-Length.
        hashChunk(verifier, b, found);
        yield b;
      }
      if (verifier.received < size) throw (found.sourceError = new SizeMismatchError(digest, size, verifier.received));
    })(),
  );
  try {
    await uploadRequest(session, 'PUT', withDigest(location, digest), counted, {
      'content-type': 'application/octet-stream',
      'content-length': String(size),
    }, 201);
  } catch (err) {
    // The registry's refusal (400 DIGEST_INVALID, a length mismatch) is reported as what it is.
    if (counted.readableEnded) verifier.verify();
    throw err;
  }
  verifier.verify();
  return verifier.received;
}

/**
 * Cross-repository mount: `true` if the registry mounted the blob from `fromRepo` (201). A registry that opens
 * an upload session instead (202: it cannot or will not mount) has that session cancelled, and `false` is
 * returned: the caller then uploads.
 */
export async function mountBlob(t: Transport, repo: RepositoryName | string, digest: string, fromRepo: RepositoryName | string, options: RequestOptions): Promise<boolean> {
  const { registry, repository } = toRepositoryName(repo);
  const from = toRepositoryName(fromRepo);
  parseDigest(digest);
  if (from.registry !== registry) throw new InvalidArgumentError(`mountBlob: ${from.registry} is not ${registry} (mounts work within one registry)`);
  const query = `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from.repository)}`;
  const session: Session = { t, registry, repository, signal: options.signal, what: `mount of ${digest} from ${from.repository} into ${registry}/${repository}` };
  const r = await startUpload(session, query, [repositoryScope(from.repository, 'pull')]);
  if (r.status === 201) return true;
  if (r.location) await cancelUpload(session, r.location);
  return false;
}

/** Regroups a byte stream into chunks of exactly `size` bytes (the last one shorter). */
async function* rechunk(source: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  let pending: Buffer[] = [];
  let n = 0;
  for await (const c of source) {
    let b = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.length);
    while (b.length > 0) {
      const take = Math.min(size - n, b.length);
      pending.push(b.subarray(0, take));
      n += take;
      b = b.subarray(take);
      if (n === size) {
        yield Buffer.concat(pending);
        pending = [];
        n = 0;
      }
    }
  }
  if (n > 0) yield Buffer.concat(pending);
}
