/**
 * The configs and layers of a pull, made present in the store through the pull-through cache: each blob is
 * downloaded once (across processes), verified, kept; a blob already in the store costs a stat. Foreign layers
 * (with `urls`) are left where they are.
 */
import fs from 'node:fs';
import { MoteNotFoundError, SizeMismatchError } from '../errors.js';
import { throwIfAborted } from '../internal/abort.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { ParsedManifest } from '../oci/manifest.js';
import { InvalidManifestError } from '../oci/errors.js';
import { runPool, unwrapFetchError } from './concurrency.js';
import { OfflineMissError } from './errors.js';
import { MAX_BLOBS, MAX_HOLD_ATTEMPTS } from './options.js';
import type { PullSession } from './session.js';

export interface ImageBlobs {
  /** Distinct configs and layers now in the store. */
  blobs: Descriptor[];
  /** Foreign (non-distributable) layers, not fetched. */
  skipped: Descriptor[];
}

export async function fetchBlobs(s: PullSession, manifests: readonly { doc: ParsedManifest }[], concurrency: number): Promise<ImageBlobs> {
  const blobs = new Map<string, { d: Descriptor; kind: 'config' | 'layer' }>();
  const skipped: Descriptor[] = [];
  for (const { doc } of manifests) {
    for (const d of [doc.config, ...doc.layers]) {
      s.tracker.add(d);
      if (d.urls && d.urls.length > 0) {
        if (!skipped.some((x) => x.digest === d.digest)) skipped.push(d);
        continue;
      }
      if (!blobs.has(d.digest)) blobs.set(d.digest, { d, kind: d === doc.config ? 'config' : 'layer' });
    }
  }
  if (blobs.size > MAX_BLOBS) throw new InvalidManifestError(`more than ${MAX_BLOBS} distinct configs and layers: more than a pull takes`);
  let size = 0;
  for (const { d } of blobs.values()) size += d.size;
  s.emit({ type: 'plan', blobs: blobs.size, size });
  await runPool([...blobs.values()], concurrency, ({ d, kind }) => fetchBlob(s, d, kind));
  return { blobs: [...blobs.values()].map(({ d }) => d), skipped };
}

/** One config or layer made present in the store and held by the session's lease (see {@link fetchBlobs}). */
export async function fetchBlob(s: PullSession, d: Descriptor, kind: 'config' | 'layer'): Promise<void> {
  throwIfAborted(s.signal);
  // Already here: held from now on (a prune meanwhile leaves it), and checked against the manifest's size.
  if (s.lease.hold(d.digest)) {
    checkHeldSize(s, d);
    // Present already: a fetch that finds it downloads nothing, and records the manifest's media type where the
    // store knows none (a mote first brought in by a read without a type keeps no octet-stream).
    await s.through.fetch(d.digest, { size: d.size, mediaType: d.mediaType, signal: s.signal });
    s.emit({ type: 'start', digest: d.digest, mediaType: d.mediaType, kind, size: d.size, source: 'cache' });
    s.emit({ type: 'done', digest: d.digest, mediaType: d.mediaType, kind, size: d.size, received: d.size, source: 'cache' });
    return;
  }
  if (s.offline) throw new OfflineMissError(`${kind} ${d.digest} of ${s.ref.name}`);
  s.emit({ type: 'start', digest: d.digest, mediaType: d.mediaType, kind, size: d.size, source: 'registry' });
  let received = 0;
  try {
    // A prune between the download and the hold may take it away again (only a prune to nearly nothing would: it
    // is the newest mote): fetched again, then given up clearly.
    for (let attempt = 0; !s.lease.hold(d.digest); attempt++) {
      if (attempt >= MAX_HOLD_ATTEMPTS) throw new MoteNotFoundError(d.digest, 'removed from the store again and again while pulling');
      // The manifest's size bounds the download (a registry that sends more is stopped at the first byte too
      // many) and spares a HEAD; its media type is what the store records.
      await s.through.fetch(d.digest, {
        size: d.size,
        mediaType: d.mediaType,
        signal: s.signal,
        onProgress: (e) => {
          if (e.received <= received) return;
          received = e.received;
          s.emit({ type: 'progress', digest: d.digest, size: d.size, received: e.received, source: 'registry' });
        },
      });
    }
    checkHeldSize(s, d);
  } catch (err) {
    throw unwrapFetchError(err);
  }
  s.emit({ type: 'done', digest: d.digest, mediaType: d.mediaType, kind, size: d.size, received: d.size, source: 'registry' });
}

/** The content matches the digest, so a different size means the manifest lied about it. */
function checkHeldSize(s: PullSession, d: Descriptor): void {
  const size = fs.statSync(s.lease.pathOf(d.digest)!).size;
  if (size !== d.size) throw new SizeMismatchError(d.digest, d.size, size);
}
