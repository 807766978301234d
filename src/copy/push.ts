/**
 * A registry destination, written from the store: every config and layer first (a HEAD skips what the repository
 * has; a cross-repository mount where the blob-info cache knows the blob in another repository of the same
 * registry; else an upload, in chunks when large), then manifests (children before the indexes naming them),
 * and the tag last. So a failure at any point leaves no tag naming an incomplete image.
 */
import fs from 'node:fs';
import { throwIfAborted } from '../internal/abort.js';
import { locateLayerDigest, recordLayerSource } from '../blobinfo/locate.js';
import type { Descriptor } from '../oci/descriptor.js';
import { runPool } from '../pull/concurrency.js';
import { Reference } from '../reference/index.js';
import type { RegistryClient } from '../registry/client.js';
import type { StoredImage } from './image.js';
import { CHUNK_SIZE, CHUNKED_UPLOAD_THRESHOLD } from './options.js';
import type { CopySession } from './session.js';
import type { PushKind } from './types.js';

export async function pushImage(s: CopySession, image: StoredImage, dest: Reference, tag: string | undefined, concurrency: number): Promise<void> {
  const client = s.client!;
  const repo = { registry: dest.registry, repository: dest.repository };
  await runPool(image.blobs, concurrency, (d) => pushOne(s, client, dest, d));
  // Documents: parents come before children in `documents`, so in reverse every child is there before its index.
  const docs = [...image.documents.values()].reverse();
  for (const d of docs) {
    throwIfAborted(s.signal);
    await client.putManifest(repo, d.digest, await fs.promises.readFile(s.pathOf(d.digest)), d.mediaType, { signal: s.signal });
    s.emit({ type: 'push', digest: d.digest, size: d.size, kind: 'uploaded' });
  }
  if (tag !== undefined) {
    throwIfAborted(s.signal);
    await client.putManifest(repo, tag, await fs.promises.readFile(s.pathOf(image.entry.digest)), image.entry.mediaType, { signal: s.signal });
  }
}

async function pushOne(s: CopySession, client: RegistryClient, dest: Reference, d: Descriptor): Promise<void> {
  throwIfAborted(s.signal);
  const repo = { registry: dest.registry, repository: dest.repository };
  const opts = { signal: s.signal };
  let kind: PushKind;
  if (await client.blobExists(repo, d.digest, opts)) kind = 'exists';
  else if (await mountFromKnown(s, client, dest, d)) kind = 'mounted';
  else {
    // 1 MiB reads: a 64 KiB default makes the upload of a large layer thousands of small writes.
    const r = await client.pushBlob(repo, d.digest, fs.createReadStream(s.pathOf(d.digest), { highWaterMark: 1 << 20 }), {
      size: d.size,
      ...(d.size > CHUNKED_UPLOAD_THRESHOLD && { chunkSize: CHUNK_SIZE }),
      ...opts,
    });
    kind = r.existed ? 'exists' : 'uploaded';
  }
  const c = s.counters;
  if (kind === 'exists') c.blobsExisting++;
  else if (kind === 'mounted') {
    c.blobsMounted++;
    c.bytesMounted += d.size;
  } else {
    c.blobsUploaded++;
    c.bytesUploaded += d.size;
  }
  // The next copy to another repository of this registry can mount it from here.
  await recordLayerSource(s.blobInfo, d, new Reference({ ...repo, digest: d.digest })).catch(() => {});
  s.emit({ type: 'push', digest: d.digest, size: d.size, kind });
}

/** A mount from the newest known location in another repository of the destination's registry; false if none worked. */
async function mountFromKnown(s: CopySession, client: RegistryClient, dest: Reference, d: Descriptor): Promise<boolean> {
  const known = await locateLayerDigest(s.blobInfo, d.digest, dest, true).catch(() => []);
  for (const from of known.slice(0, 3)) {
    if (from.repository === dest.repository) continue;
    if (await client.mountBlob(dest, d.digest, { registry: from.registry, repository: from.repository }, { signal: s.signal })) return true;
  }
  return false;
}

