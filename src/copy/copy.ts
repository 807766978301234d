/**
 * `copy(source, destination)`: an image between registries (`docker://`), OCI layouts (`oci:`) and archives
 * (`oci-archive:`), written through the mote store: every blob that passes lands in the store, verified, before
 * the destination gets anything; so the next copy of anything sharing a layer reads it locally, and a source that
 * lies publishes nothing. Layers can be put in another compression on the way (see `transform.ts`).
 */
import { throwIfAborted } from '../internal/abort.js';
import { unwrapFetchError } from '../pull/concurrency.js';
import { cacheBlobSource } from '../pull/destination/blob-source.js';
import { inspectArchive, writeOciArchive } from '../pull/destination/oci-archive.js';
import { inspectLayoutDir, writeOciLayout } from '../pull/destination/oci-dir.js';
import { allBlobs, type StoredImage } from './image.js';
import { resolveCopyOptions, type ResolvedCopyOptions } from './options.js';
import { pushImage } from './push.js';
import { openCopySession, type CopySession } from './session.js';
import { readLayoutSource } from './source-layout.js';
import { readRegistrySource } from './source-registry.js';
import { transformImage } from './transform.js';
import { formatEndpoint, parseEndpoint, type CopyEndpoint } from './transports.js';
import type { CopyOptions, CopyResult } from './types.js';

export async function copy(source: string, destination: string, options: CopyOptions = {}): Promise<CopyResult> {
  const src = parseEndpoint(source, 'source');
  const dest = parseEndpoint(destination, 'destination');
  const resolved = resolveCopyOptions(options);
  throwIfAborted(options.signal);
  // An unusable local destination fails now, before anything is read.
  if (dest.transport === 'oci') await inspectLayoutDir(dest.path);
  else if (dest.transport === 'oci-archive') await inspectArchive(dest.path);
  const { session, close } = await openCopySession(options, src.transport === 'docker' || dest.transport === 'docker');
  let failed = true;
  try {
    const result = await copyWithin(session, src, dest, resolved);
    failed = false;
    return result;
  } catch (err) {
    throw unwrapFetchError(err);
  } finally {
    await close(failed);
  }
}

async function copyWithin(s: CopySession, src: CopyEndpoint, dest: CopyEndpoint, o: ResolvedCopyOptions): Promise<CopyResult> {
  // 1. The source, whole, into the store (verified) and held.
  const read =
    src.transport === 'docker'
      ? await readRegistrySource(s, src.ref, o.platform, o.concurrency)
      : await readLayoutSource(s, src, o.platform, o.concurrency);
  // 2. Layers in the asked compression (variants from the store where known), manifests rewritten to match.
  const image: StoredImage = await transformImage(s, read, src, o);
  // 3. The destination, from the store; for a registry, tags last.
  throwIfAborted(s.signal);
  const srcTag = src.transport === 'docker' ? src.ref.tag : src.tag;
  if (dest.transport === 'docker') {
    const tag = dest.ref.tag ?? (dest.ref.digest === undefined ? srcTag : undefined);
    await pushImage(s, image, dest.ref, tag, o.concurrency);
  } else {
    const tag = dest.tag ?? srcTag;
    const written = { entry: image.entry, blobs: allBlobs(image) };
    const blobSource = cacheBlobSource(s.local, 'link', (digest) => s.lease.pathOf(digest));
    const wo = { ...(tag !== undefined && { tag }), ...(s.signal && { signal: s.signal }) };
    if (dest.transport === 'oci') await writeOciLayout(dest.path, written, blobSource, wo);
    else await writeOciArchive(dest.path, written, blobSource, wo);
  }
  let distinct = 0;
  for (const d of allBlobs(read)) distinct += d.size;
  const c = s.counters;
  return {
    source: formatEndpoint(src),
    destination: formatEndpoint(dest),
    digest: image.entry.digest,
    mediaType: image.entry.mediaType,
    sourceDigest: read.entry.digest,
    ...(image.platform !== undefined && { platform: image.platform }),
    manifests: image.manifests.length,
    blobs: allBlobs(image).length,
    bytesFromRegistry: c.bytesFromRegistry,
    bytesFromCache: Math.max(0, distinct - c.bytesFromRegistry),
    layersTransformed: c.layersTransformed,
    bytesTransformed: c.bytesTransformed,
    layersSubstituted: c.layersSubstituted,
    blobsExisting: c.blobsExisting,
    blobsMounted: c.blobsMounted,
    blobsUploaded: c.blobsUploaded,
    bytesMounted: c.bytesMounted,
    bytesUploaded: c.bytesUploaded,
  };
}
