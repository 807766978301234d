/**
 * Manifests and indexes: get (bytes verified against the digest asked for and the registry's claim), head (a
 * descriptor without the bytes, falling back to get), and put.
 */
import { DigestMismatchError, InvalidArgumentError } from '../../errors.js';
import { digestOf, isDigest, parseDigest, verifyBytes } from '../../digest/index.js';
import type { Descriptor } from '../../oci/descriptor.js';
import { DEFAULT_MEDIA_TYPE, MANIFEST_ACCEPT, mediaTypeOfContentType } from '../../oci/media-types.js';
import { repositoryScope } from '../auth/authenticator.js';
import { checkTagOrDigest, toRepositoryName } from '../names.js';
import { MAX_MANIFEST_BYTES } from '../options.js';
import { discard, readBody } from '../transport/body.js';
import { contentDigestClaim, header } from '../transport/headers.js';
import type { Transport } from '../transport/request.js';
import { errorFrom } from '../transport/response-errors.js';
import type { Send } from '../transport/types.js';
import type { FetchedManifest, RepositoryName, RequestOptions } from '../types.js';

/** Only digests of the same algorithm can be compared (a sha512 ref may be answered with its sha256). */
const sameAlgorithm = (a: string, b: string): boolean => isDigest(a) && isDigest(b) && parseDigest(a).algorithm === parseDigest(b).algorithm;

function manifestSend(method: 'GET' | 'HEAD', registry: string, repository: string, ref: string, signal?: AbortSignal): Send {
  return {
    registry,
    method,
    target: `/v2/${repository}/manifests/${ref}`,
    headers: { accept: MANIFEST_ACCEPT.join(', ') },
    scopes: [repositoryScope(repository, 'pull')],
    repository,
    retry: true,
    followRedirects: true,
    signal,
    what: `manifest ${registry}/${repository}${ref.includes(':') ? '@' : ':'}${ref}`,
    notFoundCode: 'MANIFEST_UNKNOWN',
  };
}

/**
 * A manifest or index by tag or digest. Its bytes are checked against the digest asked for, and against
 * `Docker-Content-Digest` when the registry sends one (`DigestMismatchError`); more than 4 MiB is refused.
 */
export async function getManifest(t: Transport, repo: RepositoryName | string, tagOrDigest: string, options: RequestOptions): Promise<FetchedManifest> {
  const { registry, repository } = toRepositoryName(repo);
  const kind = checkTagOrDigest(tagOrDigest);
  const s = manifestSend('GET', registry, repository, tagOrDigest, options.signal);
  const res = await t.send(s);
  if (res.status !== 200) throw await errorFrom(s, res);
  // Over the manifest limit (declared, or as it arrives): a RegistryProtocolError saying so.
  const bytes = await readBody(res, MAX_MANIFEST_BYTES, options.signal, s.what, registry);
  let digest: string | undefined;
  if (kind === 'digest') digest = verifyBytes(bytes, { digest: tagOrDigest, source: s.what });
  // The registry's claim is checked in every case, even when the bytes already matched the digest asked for.
  const claim = contentDigestClaim(res, s.what, registry);
  if (claim) {
    const claimed = verifyBytes(bytes, { digest: claim.digest, source: `${s.what} (its Docker-Content-Digest)` });
    digest ??= claimed;
  }
  digest ??= digestOf(bytes);
  return { descriptor: { mediaType: manifestMediaType(header(res.headers, 'content-type'), bytes), digest, size: bytes.length }, bytes };
}

/**
 * The media type of a fetched manifest: `Content-Type`, unless it says nothing specific (missing, JSON, octets);
 * then the document's own `mediaType`.
 */
function manifestMediaType(contentType: string | undefined, bytes: Buffer): string {
  let mediaType = mediaTypeOfContentType(contentType);
  if (!mediaType || mediaType === 'application/json' || mediaType === DEFAULT_MEDIA_TYPE) {
    try {
      const own = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
      if (typeof own === 'string') mediaType = own;
    } catch {
      /* not JSON: keep what the header said */
    }
  }
  return mediaType ?? DEFAULT_MEDIA_TYPE;
}

/** A manifest's descriptor by HEAD (falls back to GET when a tag's digest is not in the headers). */
export async function headManifest(t: Transport, repo: RepositoryName | string, tagOrDigest: string, options: RequestOptions): Promise<Descriptor> {
  const { registry, repository } = toRepositoryName(repo);
  const kind = checkTagOrDigest(tagOrDigest);
  const s = manifestSend('HEAD', registry, repository, tagOrDigest, options.signal);
  const res = await t.send(s);
  discard(res.body);
  if (res.status !== 200) throw await errorFrom(s, res);
  const dcd = header(res.headers, 'docker-content-digest');
  if (kind === 'digest' && dcd && sameAlgorithm(dcd, tagOrDigest) && dcd !== tagOrDigest) throw new DigestMismatchError(tagOrDigest, dcd, `${s.what} (its Docker-Content-Digest)`);
  const digest = kind === 'digest' ? tagOrDigest : dcd;
  const size = Number(header(res.headers, 'content-length'));
  const mediaType = mediaTypeOfContentType(header(res.headers, 'content-type'));
  if (!digest || !isDigest(digest) || !Number.isSafeInteger(size) || !mediaType) {
    return (await getManifest(t, { registry, repository }, tagOrDigest, options)).descriptor;
  }
  return { mediaType, digest, size };
}

/** Uploads a manifest under a tag or digest; returns its digest. Retried like a GET (a PUT of a manifest is idempotent). */
export async function putManifest(
  t: Transport,
  repo: RepositoryName | string,
  ref: string,
  bytes: Uint8Array,
  mediaType: string,
  options: RequestOptions,
): Promise<string> {
  const { registry, repository } = toRepositoryName(repo);
  const kind = checkTagOrDigest(ref);
  if (!(bytes instanceof Uint8Array)) throw new InvalidArgumentError('putManifest: bytes must be a Uint8Array');
  if (typeof mediaType !== 'string' || !/^[\w.+-]+\/[\w.+-]+$/.test(mediaType)) throw new InvalidArgumentError(`putManifest: invalid media type ${JSON.stringify(mediaType)}`);
  if (bytes.length > MAX_MANIFEST_BYTES) throw new InvalidArgumentError(`putManifest: ${bytes.length} bytes is over the ${MAX_MANIFEST_BYTES}-byte limit`);
  // By digest: the bytes must be what the digest says, before anything is sent.
  const digest = verifyBytes(bytes, kind === 'digest' ? { digest: ref } : {});
  const s: Send = {
    registry,
    method: 'PUT',
    target: `/v2/${repository}/manifests/${ref}`,
    headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
    body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length),
    scopes: [repositoryScope(repository, 'pull,push')],
    repository,
    retry: true,
    signal: options.signal,
    what: `manifest ${registry}/${repository}${kind === 'digest' ? '@' : ':'}${ref}`,
  };
  const res = await t.send(s);
  if (res.status !== 201 && res.status !== 200) throw await errorFrom(s, res);
  discard(res.body);
  // The registry's claim is checked, never passed on: the digest returned is the one of the bytes sent. (Here the
  // bytes are ours and the claim is the registry's: `expected` is our digest, `actual` what the registry says.)
  const claim = contentDigestClaim(res, s.what, registry);
  if (claim) {
    const ours = claim.algorithm === parseDigest(digest).algorithm ? digest : digestOf(bytes, claim.algorithm);
    if (claim.digest !== ours) throw new DigestMismatchError(ours, claim.digest, `${s.what} (its Docker-Content-Digest)`);
  }
  return digest;
}
