/**
 * Manifests and indexes of a pull: a tag is always resolved with the registry (it can move); a digest is read from
 * the store when it is there, else fetched (verified by the client against the digest) and stored.
 */
import { isDigest } from '../digest/index.js';
import fs from 'node:fs';
import { verifyBytes } from '../digest/verifier.js';
import { ErrorCategory, MoteNotFoundError, SizeMismatchError, errorCategory } from '../errors.js';
import { isErrno } from '../internal/errno.js';
import { InvalidManifestError } from '../oci/errors.js';
import { MAX_MANIFEST_BYTES } from '../oci/manifest.js';
import { OfflineMissError } from './errors.js';
import { MAX_HOLD_ATTEMPTS } from './options.js';
import { throwIfAborted } from '../internal/abort.js';
import type { Descriptor } from '../oci/descriptor.js';
import { DEFAULT_MEDIA_TYPE, isIndexMediaType } from '../oci/media-types.js';
import type { PullSession } from './session.js';

/** An index or a manifest, for progress (by its media type; an unknown one is taken for a manifest). */
const kindOf = (mediaType: string | undefined): 'index' | 'manifest' => (mediaType !== undefined && isIndexMediaType(mediaType) ? 'index' : 'manifest');

export interface FetchedDocument {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** A manifest or index by tag or digest; `expected` is its descriptor in a parent index, when there is one. */
export async function fetchManifest(s: PullSession, tagOrDigest: string, expected?: Descriptor): Promise<FetchedDocument> {
  throwIfAborted(s.signal);
  if (isDigest(tagOrDigest)) return byDigest(s, tagOrDigest, { mediaType: expected?.mediaType, size: expected?.size ?? -1 }, expected);
  if (s.offline) throw new OfflineMissError(`tag ${tagOrDigest} of ${s.ref.name}`); // resolved from the refs record before, or not at all
  // HEAD first, so an image already in the store costs no body. A registry that answers HEAD oddly (a protocol
  // error) is asked with GET instead; refusals are final.
  let head: Descriptor;
  try {
    head = await s.client.headManifest(s.ref, tagOrDigest, { signal: s.signal });
  } catch (err) {
    if (errorCategory(err) !== ErrorCategory.Protocol) throw err;
    return byTagWithGet(s, tagOrDigest);
  }
  return byDigest(s, head.digest, head, undefined);
}

/** The tag's manifest by GET: its digest is known only once it is here, so its start and done come together. */
async function byTagWithGet(s: PullSession, tag: string): Promise<FetchedDocument> {
  const fetched = await s.client.getManifest(s.ref, tag, { signal: s.signal });
  s.manifestBytes += fetched.bytes.length;
  const d = fetched.descriptor;
  await putAndHold(s, fetched.bytes, d);
  s.emit({ type: 'start', digest: d.digest, mediaType: d.mediaType, kind: kindOf(d.mediaType), size: d.size, source: 'registry' });
  s.emit({ type: 'done', digest: d.digest, mediaType: d.mediaType, kind: kindOf(d.mediaType), size: d.size, received: d.size, source: 'registry' });
  return { descriptor: { mediaType: d.mediaType, digest: d.digest, size: fetched.bytes.length }, bytes: fetched.bytes };
}

/**
 * `hint` is what is known before the bytes (for progress, and the media type of a stored copy); `expected` is the
 * descriptor the bytes must match (an index's entry).
 */
async function byDigest(
  s: PullSession,
  digest: string,
  hint: { mediaType?: string | undefined; size: number },
  expected: Descriptor | undefined,
): Promise<FetchedDocument> {
  // Only a copy in the store's own directory counts as "already here", and it is held from now on.
  const bytes = s.lease.hold(digest) ? await readHeld(s, digest) : undefined;
  if (bytes) {
    const mt = hint.mediaType ?? (await s.local.find(digest))?.mediaType ?? DEFAULT_MEDIA_TYPE;
    s.emit({ type: 'start', digest, mediaType: mt, kind: kindOf(mt), size: bytes.length, source: 'cache' });
    s.emit({ type: 'done', digest, mediaType: mt, kind: kindOf(mt), size: bytes.length, received: bytes.length, source: 'cache' });
    return { descriptor: { mediaType: mt, digest, size: bytes.length }, bytes };
  }
  if (s.offline) throw new OfflineMissError(`${kindOf(hint.mediaType)} ${digest} of ${s.ref.name}`);
  s.emit({ type: 'start', digest, mediaType: hint.mediaType ?? DEFAULT_MEDIA_TYPE, kind: kindOf(hint.mediaType), size: hint.size, source: 'registry' });
  // The client verifies the bytes against the digest asked for; the store verifies them again as it keeps them
  // (it never takes a digest on trust), so the check is not repeated here.
  const fetched = await s.client.getManifest(s.ref, digest, { signal: s.signal });
  s.manifestBytes += fetched.bytes.length;
  if (expected && fetched.bytes.length !== expected.size) throw new SizeMismatchError(digest, expected.size, fetched.bytes.length);
  const descriptor: Descriptor = { mediaType: expected?.mediaType ?? fetched.descriptor.mediaType, digest, size: fetched.bytes.length };
  await putAndHold(s, fetched.bytes, descriptor);
  s.emit({ type: 'done', digest, mediaType: descriptor.mediaType, kind: kindOf(descriptor.mediaType), size: descriptor.size, received: descriptor.size, source: 'registry' });
  return { descriptor, bytes: fetched.bytes };
}

/**
 * A held manifest's bytes, read through the lease (a removal meanwhile cannot take them away) and checked against
 * the digest: manifests are small, and what they say decides what is fetched next. Undefined when gone (a store
 * without hard links, where the lease cannot keep them): then it is fetched again.
 */
async function readHeld(s: PullSession, digest: string): Promise<Buffer | undefined> {
  const p = s.lease.pathOf(digest)!;
  let bytes: Buffer;
  try {
    if ((await fs.promises.stat(p)).size > MAX_MANIFEST_BYTES) throw new InvalidManifestError(`larger than ${MAX_MANIFEST_BYTES} bytes`, digest);
    bytes = await fs.promises.readFile(p);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  verifyBytes(bytes, { digest });
  return bytes;
}

/** Stores what the registry sent (verified again by the store) and holds it for the rest of the pull. */
async function putAndHold(s: PullSession, bytes: Buffer, d: Descriptor): Promise<void> {
  // A prune between the put and the hold may take it away again (it is the newest mote, so only a prune to
  // nearly nothing would): put it once more, then give up clearly.
  for (let attempt = 0; ; attempt++) {
    await s.local.put(bytes, { digest: d.digest, size: bytes.length, mediaType: d.mediaType });
    if (s.lease.hold(d.digest)) return;
    if (attempt >= MAX_HOLD_ATTEMPTS) throw new MoteNotFoundError(d.digest, 'removed from the store again and again while pulling');
  }
}
