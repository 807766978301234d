/**
 * A registry source: the image read through the mote store exactly as `pull` reads it (the reference resolved,
 * every manifest, config and layer downloaded once across processes, verified, kept), then held by the copy.
 */
import { fetchBlobs } from '../pull/blobs.js';
import { resolveImage } from '../pull/resolve.js';
import { openSession } from '../pull/session.js';
import type { PlatformSpec } from '../oci/platform.js';
import type { Reference } from '../reference/index.js';
import { MoteNotFoundError } from '../errors.js';
import type { StoredImage } from './image.js';
import type { CopySession } from './session.js';

export async function readRegistrySource(s: CopySession, ref: Reference, platform: PlatformSpec | undefined, concurrency: number): Promise<StoredImage> {
  const { session: p, close } = await openSession(ref, {
    cache: s.local,
    client: s.client!,
    ...(s.signal && { signal: s.signal }),
    onProgress: (e) => s.emit(e),
  });
  let failed = true;
  try {
    const before = p.source.bytesFetched;
    const image = await resolveImage(p, platform, concurrency);
    const { blobs, skipped } = await fetchBlobs(p, image.manifests, concurrency);
    // Held by the copy's own lease from here on (the pull session's is released below).
    for (const d of [...image.documents.values(), ...blobs]) {
      if (!s.lease.hold(d.digest)) throw new MoteNotFoundError(d.digest, 'removed from the store while copying');
    }
    s.counters.bytesFromRegistry += p.source.bytesFetched - before + p.manifestBytes;
    failed = false;
    return { top: image.top, entry: image.entry, documents: image.documents, manifests: image.manifests, blobs, skipped, platform: image.platform };
  } finally {
    await close(failed);
  }
}
