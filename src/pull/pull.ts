/**
 * `pull(reference, destination)`: an image or artifact through the mote cache into an OCI layout or archive.
 *
 * Everything goes through the store: the reference is resolved with the registry, every manifest, config and layer
 * is made present in the store (the registry read through a `PullThroughCache`: one download per blob across
 * processes, verified), and only then is the destination written, from the store. So a registry that fails or lies
 * leaves the destination untouched, and the store holds only verified motes.
 */
import { throwIfAborted } from '../internal/abort.js';
import { formatPlatform } from '../oci/platform.js';
import { parseReference, type Reference } from '../reference/index.js';
import { defaultCacheDir } from '../store/default-dir.js';
import { unwrapFetchError } from './concurrency.js';
import { cacheBlobSource, type ImageToWrite } from './destination/blob-source.js';
import { inspectArchive, writeOciArchive } from './destination/oci-archive.js';
import { inspectLayoutDir, writeOciLayout } from './destination/oci-dir.js';
import { formatDestination, normalizeDestination, parseDestination, type PullDestination } from './destination/parse.js';
import { fetchBlobs } from './blobs.js';
import { resolvePullOptions, type ResolvedPullOptions } from './options.js';
import { deadlineError, deadlineSignal } from './deadline.js';
import { platformMismatch } from './platform-check.js';
import { offlineDigest, recordRef } from './refs.js';
import { resolveImage } from './resolve.js';
import { openSession } from './session.js';
import type { PullOptions, PullResult } from './types.js';

/** The CLI's default cache directory, which is also the library's default. */
export function defaultPullCacheDir(): string {
  return defaultCacheDir();
}

/** Pulls `reference` through the mote cache into `destination` (`oci:<dir>[:tag]` or `oci-archive:<file>[:tag]`). */
export async function pull(reference: string | Reference, destination: string | PullDestination, options: PullOptions = {}): Promise<PullResult> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const dest = normalizeDestination(typeof destination === 'string' ? parseDestination(destination) : destination);
  const resolved = resolvePullOptions(options);
  // From here on the pull runs under the deadline too: every wait below ends when either signal fires.
  const { signal, deadline } = deadlineSignal(options.signal, resolved.deadlineMs);
  try {
    return await pullWithin(ref, dest, { ...options, ...(signal && { signal }) }, resolved);
  } catch (err) {
    throw deadlineError(unwrapFetchError(err), ref.toString(), resolved.deadlineMs, deadline, options.signal);
  }
}

async function pullWithin(ref: Reference, dest: PullDestination, options: PullOptions, resolved: ResolvedPullOptions): Promise<PullResult> {
  const { platform, concurrency, placement } = resolved;
  const tag = dest.tag ?? ref.tag;
  throwIfAborted(options.signal);
  // An unusable destination fails now, before anything is downloaded.
  if (dest.transport === 'oci') await inspectLayoutDir(dest.path);
  else await inspectArchive(dest.path);

  const { session: s, close } = await openSession(ref, options);
  let failed = true;
  try {
    const fetchedBefore = s.source.bytesFetched;
    // 1. The reference, the platform, the manifests; 2. their configs and layers, into the store. Offline, a tag
    // is what the cache recorded when it was last resolved (by a pull, or mote manifest/config/digest).
    const image = await resolveImage(s, platform, concurrency, s.offline ? offlineDigest(s.local.root, ref) : ref.digest);
    const { blobs, skipped } = await fetchBlobs(s, image.manifests, concurrency);
    // 3. The destination, from the store.
    throwIfAborted(s.signal);
    const toWrite = new Map(image.documents);
    for (const d of blobs) toWrite.set(d.digest, d);
    const written: ImageToWrite = { entry: image.entry, blobs: [...toWrite.values()] };
    const source = cacheBlobSource(s.through, placement, (digest) => s.lease.pathOf(digest));
    if (dest.transport === 'oci') await writeOciLayout(dest.path, written, source, { tag, signal: s.signal });
    else await writeOciArchive(dest.path, written, source, { tag, signal: s.signal });

    let distinct = 0;
    for (const d of toWrite.values()) distinct += d.size;
    if (image.entry !== image.top) distinct += image.top.size; // the index was fetched (or found), though not written
    const bytesFromRegistry = s.source.bytesFetched - fetchedBefore + s.manifestBytes;
    const result: PullResult = {
      reference: ref.toString(),
      digest: image.top.digest,
      mediaType: image.top.mediaType,
      destination: formatDestination({ ...dest, ...(tag !== undefined && { tag }) }),
      manifests: image.manifests.map(({ descriptor, doc }) => ({
        digest: descriptor.digest,
        mediaType: descriptor.mediaType,
        size: descriptor.size,
        ...(descriptor.platform && { platform: formatPlatform(descriptor.platform) }),
        config: doc.config.digest,
        layers: doc.layers.length,
      })),
      blobs: toWrite.size,
      bytesFromRegistry,
      bytesFromCache: Math.max(0, distinct - bytesFromRegistry),
      skipped,
      warnings: [],
      tracker: { total: s.tracker.total, deduplicated: s.tracker.deduplicated, count: s.tracker.count },
    };
    if (image.platform !== undefined) result.platform = image.platform;
    // The tag, for `mote images` and a later offline pull. After the destination is complete: a record names an
    // image whose every blob the store held a moment ago. Offline, nothing new was learnt.
    // Not recording it (a cache this user may only read, a full disk) fails nothing: the pull is done; it is said.
    // Only a tag the registry resolved: `app:1@sha256:…` never asked it what `1` means.
    if (!s.offline && ref.digest === undefined) {
      await recordRef(s.local.root, ref, image.top, image.platforms).catch((err: unknown) => {
        result.warnings.push({ code: 'MOTE_REF_NOT_RECORDED', message: `the tag was not recorded for mote images and pull --offline: ${String((err as Error)?.message ?? err)}` });
      });
    }
    // Asked for a platform, got an image that has only one: say so when it is another (containers/image does).
    const single = image.topKind === 'manifest' ? image.manifests[0] : undefined;
    if (options.platform !== undefined && platform && single) {
      const warning = platformMismatch(platform, single.doc.config, s.lease.pathOf(single.doc.config.digest));
      if (warning) result.warnings.push(warning);
    }
    // A size the cache is kept to: pruned now, while the lease still holds every blob of this image (prune leaves
    // what has another link), so the image just pulled stays even in an archive, with --copy, or over the size.
    // Offline, nothing was added (and the cache is often one this user may only read). A prune that fails fails
    // nothing: the destination is written; it is said, as an unrecorded tag is.
    if (options.pruneTo !== undefined && !s.offline) {
      try {
        const r = await s.local.prune(options.pruneTo, { ...(s.signal && { signal: s.signal }) });
        result.pruned = {
          removedCount: r.removed,
          freedBytes: r.freedBytes,
          remainingBytes: r.remainingBytes,
          maxSize: options.pruneTo,
          linkedCount: r.linkedCount ?? 0,
          linkedBytes: r.linkedBytes ?? 0,
        };
      } catch (err) {
        if (s.signal?.aborted) throw err;
        result.warnings.push({ code: 'MOTE_PRUNE_FAILED', message: `the cache was not pruned to ${options.pruneTo} bytes: ${String((err as Error)?.message ?? err)}` });
      }
    }
    failed = false;
    return result;
  } finally {
    // A failed pull abandons what its own client still has in flight (a download another flight no longer waits
    // for, a trickling body): closing gracefully would wait for it, past any deadline.
    await close(failed);
  }
}
