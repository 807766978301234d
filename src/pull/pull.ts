/**
 * `pull(reference, destination)`: pull an image or artifact through the mote cache into an OCI layout or archive.
 *
 * Everything goes through the cache: the manifest (or index) is resolved with the registry, then every manifest,
 * config and layer is made present in the store (a `FileMoteCache` whose fallback is the registry, populated on
 * a miss, one download per blob across processes), and only then is the destination written, from the store.
 * So a registry that fails or lies leaves the destination untouched, and the store holds only verified motes.
 */
import path from 'node:path';
import { BytesTracker } from '../store/bytes-tracker.js';
import { FileMoteCache, type FileMoteCacheOptions } from '../store/file-cache.js';
import type { FallbackProgress } from '../store/fetch.js';
import { blobInfoCacheFor } from '../blobinfo/mote.js';
import { defaultCacheDir } from '../cli/paths.js';
import { digestOf, isDigest, parseDigest } from '../digest/index.js';
import { DigestMismatchError, InvalidArgumentError, MoteError, SizeMismatchError } from '../errors.js';
import { parseReference, type Reference } from '../reference/index.js';
import type { RegistryClient } from '../registry/client.js';
import type { Descriptor } from '../oci/descriptor.js';
import { writeOciArchive, inspectArchive } from './archive.js';
import { formatDestination, normalizeDestination, parseDestination, type PullDestination } from './destination.js';
import { InvalidManifestError } from '../oci/errors.js';
import { cacheBlobSource, type BlobPlacement, type ImageToWrite } from './layout.js';
import { inspectLayoutDir, writeOciLayout } from './layout-writer.js';
import { MAX_MANIFEST_BYTES, parseDocument, type ParsedDocument, type ParsedManifest } from '../oci/manifest.js';
import { formatPlatform, hostPlatform, parsePlatform, selectManifest, type PlatformSpec } from '../oci/platform.js';
import { loadRegistryMoteCache, type RegistryMoteCacheLike } from './registry.js';
import { runPool, unwrapFetchError } from './concurrency.js';
import { raceSignal, throwIfAborted } from '../internal/abort.js';

/** Where a blob's bytes came from in this pull. */
export type BlobSourceKind = 'registry' | 'cache';

/** Per-blob progress: `start`, any number of `progress` (registry downloads only), then `done`. */
export type PullProgressEvent =
  | { type: 'start'; digest: string; mediaType: string; size: number; source: BlobSourceKind }
  | { type: 'progress'; digest: string; size: number; received: number; source: 'registry' }
  | { type: 'done'; digest: string; mediaType: string; size: number; received: number; source: BlobSourceKind };

export interface PullOptions {
  /** The store, or its directory. Default: the CLI's (`$MOTE_CACHE_DIR`, else `$XDG_CACHE_HOME/motecache`, else `~/.cache/motecache`). */
  cache?: FileMoteCache | string;
  /** A registry client to use (and not close). Default: one made from `insecure` and `authFile`, closed at the end. */
  client?: RegistryClient;
  /** Hosts that may be reached over plain HTTP or unverified TLS (see `RegistryClientOptions.insecure`). */
  insecure?: readonly string[];
  /** Credentials file (Docker `config.json` / containers `auth.json`) instead of the default lookup. */
  authFile?: string;
  /** `os/arch[/variant]` to pick from an index. Default: the host's. */
  platform?: string | PlatformSpec;
  /** Keep the whole index and pull every manifest in it (the platform is then ignored). */
  allPlatforms?: boolean;
  /** Blobs fetched at once. Default 4. */
  concurrency?: number;
  /**
   * `oci:` destinations: `'link'` (default) hard-links blobs from the cache when on the same filesystem (else
   * copies), `'copy'` always copies. See {@link BlobPlacement}. Archives always hold their own bytes.
   */
  placement?: BlobPlacement;
  signal?: AbortSignal;
  onProgress?: (event: PullProgressEvent) => void;
}

/** An image manifest the pull wrote. */
export interface PulledManifest {
  digest: string;
  mediaType: string;
  size: number;
  /** `os/arch[/variant]` from the index entry, when it had one. */
  platform?: string;
  config: string;
  layers: number;
}

export interface PullResult {
  /** The reference as pulled, canonical. */
  reference: string;
  /** What the reference resolved to (the index's digest for a multi-platform image). */
  digest: string;
  mediaType: string;
  /** `oci:<absolute dir>[:tag]` or `oci-archive:<absolute file>[:tag]`. */
  destination: string;
  /** The platform selected from an index (absent for a single manifest or `allPlatforms`). */
  platform?: string;
  manifests: PulledManifest[];
  /** Distinct blobs written to the destination (manifests and index included). */
  blobs: number;
  /** Body bytes this process downloaded from the registry (manifests and blobs). */
  bytesFromRegistry: number;
  /** The rest of the image's distinct bytes: already in the store, or brought in by another process. */
  bytesFromCache: number;
  /**
   * Layers with `urls` (foreign / non-distributable) that were not fetched and are not in the destination: they
   * live elsewhere by design and must not be redistributed (skopeo does the same).
   */
  skipped: Descriptor[];
  /** `BytesTracker` over every descriptor of the image: `total` counts repeats, `deduplicated` each digest once. */
  tracker: { total: number; deduplicated: number; count: number };
}

/** Indexes nested in indexes are followed this deep, no deeper (a cycle is impossible by digest, a chain is not). */
const MAX_INDEX_DEPTH = 4;
const DEFAULT_CONCURRENCY = 4;

/** The CLI's default cache directory, which is also the library's default. */
export function defaultPullCacheDir(): string {
  return defaultCacheDir();
}

function checkConcurrency(n: number | undefined): number {
  if (n === undefined) return DEFAULT_CONCURRENCY;
  if (!Number.isSafeInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError(`concurrency must be a whole number from 1 to 64, got ${n}`);
  return n;
}

/** Pulls `reference` through the mote cache into `destination` (`oci:<dir>[:tag]` or `oci-archive:<file>[:tag]`). */
export async function pull(reference: string | Reference, destination: string | PullDestination, options: PullOptions = {}): Promise<PullResult> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const dest = normalizeDestination(typeof destination === 'string' ? parseDestination(destination) : destination);
  const tag = dest.tag ?? ref.tag;
  const want = options.allPlatforms
    ? undefined
    : options.platform === undefined
      ? hostPlatform()
      : typeof options.platform === 'string'
        ? parsePlatform(options.platform)
        : parsePlatform(formatPlatform(options.platform));
  const concurrency = checkConcurrency(options.concurrency);
  if (options.placement !== undefined && options.placement !== 'link' && options.placement !== 'copy') {
    throw new InvalidArgumentError(`pull: placement must be 'link' or 'copy', got ${JSON.stringify(String(options.placement))}`);
  }
  const { signal, onProgress } = options;
  throwIfAborted(signal);

  // An unusable destination fails now, before anything is downloaded.
  if (dest.transport === 'oci') await inspectLayoutDir(dest.path);
  else await inspectArchive(dest.path);

  // `local` is the store without a fallback (so `find` means "here"); a store passed in lends its root and settings.
  const given = options.cache instanceof FileMoteCache ? options.cache : undefined;
  const local = given
    ? new FileMoteCache(given.root, {
        durable: given.durable,
        linkOnRead: given.linkOnRead,
        verifyOnRead: given.verifyOnRead,
        staleAfterMs: given.staleAfterMs,
        algorithm: given.algorithm,
      })
    : new FileMoteCache(path.resolve(typeof options.cache === 'string' ? options.cache : defaultPullCacheDir()));
  const ownClient = options.client === undefined;
  let client: RegistryClient | undefined = options.client;
  let through: FileMoteCache | undefined;
  let blobInfo: Awaited<ReturnType<typeof blobInfoCacheFor>> | undefined;
  const emit = (e: PullProgressEvent): void => {
    try {
      onProgress?.(e);
    } catch {
      /* a progress listener's failure is not the pull's */
    }
  };

  try {
    await local.initialize();
    if (!client) {
      const { RegistryClient: Client } = await import('../registry/client.js');
      client = new Client({ ...(options.insecure && { insecure: options.insecure }), ...(options.authFile && { authFile: options.authFile }) });
    }
    const registryClient = client;
    try {
      blobInfo = await blobInfoCacheFor(local);
    } catch {
      blobInfo = undefined; // the blob-info cache is an optimisation; the pull works without it
    }
    const RegistryMoteCache = await loadRegistryMoteCache();
    const registryCache: RegistryMoteCacheLike = new RegistryMoteCache(ref, registryClient, blobInfo ? { blobInfo } : {});

    // Progress of downloads in flight, by digest (only those this pull started and reported).
    const active = new Map<string, { size: number; received: number }>();
    const onFallbackProgress = (e: FallbackProgress): void => {
      const a = active.get(e.digest);
      if (!a || e.received <= a.received) return;
      a.received = e.received;
      emit({ type: 'progress', digest: e.digest, size: a.size, received: e.received, source: 'registry' });
    };
    const throughOptions: FileMoteCacheOptions = {
      fallback: registryCache,
      populateFromFallback: true,
      durable: local.durable,
      linkOnRead: local.linkOnRead,
      verifyOnRead: local.verifyOnRead,
      staleAfterMs: local.staleAfterMs,
      algorithm: local.algorithm,
      onFallbackProgress,
    };
    const cache = new FileMoteCache(local.root, throughOptions);
    through = cache;

    const tracker = new BytesTracker();
    const fetchedBefore = registryCache.bytesFetched;
    let manifestBytesFromRegistry = 0;

    /** A manifest or index by digest (from the store if there) or by tag (always asked of the registry). */
    const fetchManifest = async (tagOrDigest: string, expected?: Descriptor): Promise<{ descriptor: Descriptor; bytes: Buffer }> => {
      throwIfAborted(signal);
      let digest = isDigest(tagOrDigest) ? tagOrDigest : undefined;
      let mediaType = expected?.mediaType;
      let size = expected?.size ?? -1;
      if (!digest) {
        // A tag can move, so it is always resolved; HEAD first, so an image already in the store costs no body.
        // A registry that answers HEAD oddly (a protocol error) is asked with GET instead; refusals are final.
        try {
          const head = await registryClient.headManifest(ref, tagOrDigest, { signal });
          digest = head.digest;
          mediaType = head.mediaType;
          size = head.size;
        } catch (err) {
          if (!(err instanceof MoteError && err.code === 'ERR_REGISTRY_PROTOCOL')) throw err;
          const fetched = await registryClient.getManifest(ref, tagOrDigest, { signal });
          manifestBytesFromRegistry += fetched.bytes.length;
          const d = fetched.descriptor;
          await local.put(fetched.bytes, { digest: d.digest, size: fetched.bytes.length, mediaType: d.mediaType });
          // Its digest is known only now: start and done together.
          emit({ type: 'start', digest: d.digest, mediaType: d.mediaType, size: d.size, source: 'registry' });
          emit({ type: 'done', digest: d.digest, mediaType: d.mediaType, size: d.size, received: d.size, source: 'registry' });
          return { descriptor: { mediaType: d.mediaType, digest: d.digest, size: fetched.bytes.length }, bytes: fetched.bytes };
        }
      }
      // The store without its fallback: only a local copy counts as "already here".
      const stored = await local.find(digest);
      if (stored) {
        const bytes = await local.get(digest);
        const mt = mediaType ?? stored.mediaType;
        emit({ type: 'start', digest, mediaType: mt, size: bytes.length, source: 'cache' });
        emit({ type: 'done', digest, mediaType: mt, size: bytes.length, received: bytes.length, source: 'cache' });
        return { descriptor: { mediaType: mt, digest, size: bytes.length }, bytes };
      }
      emit({ type: 'start', digest, mediaType: mediaType ?? 'application/octet-stream', size, source: 'registry' });
      const fetched = await registryClient.getManifest(ref, digest, { signal });
      manifestBytesFromRegistry += fetched.bytes.length;
      // The client checks the bytes against the digest asked for; checked here too, as this is what gets stored.
      const actual = digestOf(fetched.bytes, parseDigest(digest).algorithm);
      if (actual !== digest) throw new DigestMismatchError(digest, actual);
      if (expected && fetched.bytes.length !== expected.size) throw new SizeMismatchError(digest, expected.size, fetched.bytes.length);
      const descriptor: Descriptor = { mediaType: expected?.mediaType ?? fetched.descriptor.mediaType, digest, size: fetched.bytes.length };
      await local.put(fetched.bytes, { digest, size: fetched.bytes.length, mediaType: descriptor.mediaType });
      emit({ type: 'done', digest, mediaType: descriptor.mediaType, size: descriptor.size, received: descriptor.size, source: 'registry' });
      return { descriptor, bytes: fetched.bytes };
    };

    // 1. Resolve the reference.
    const top = await fetchManifest(ref.digest ?? ref.tag ?? 'latest');
    if (ref.digest && top.descriptor.digest !== ref.digest) throw new DigestMismatchError(ref.digest, top.descriptor.digest);
    tracker.add(top.descriptor);
    const topDoc = parseDocument(top.bytes, top.descriptor.mediaType, top.descriptor.digest);
    const topDescriptor: Descriptor = { ...top.descriptor, mediaType: topDoc.mediaType };

    // 2. The manifests to pull, and what the destination's index.json will point at.
    const toWrite = new Map<string, Descriptor>(); // every blob the destination gets, by digest
    const manifests: { descriptor: Descriptor; doc: ParsedManifest }[] = [];
    let entry: Descriptor;
    let selected: string | undefined;

    const collect = async (descriptor: Descriptor, doc: ParsedDocument, depth: number): Promise<void> => {
      toWrite.set(descriptor.digest, descriptor);
      if (doc.kind === 'manifest') {
        manifests.push({ descriptor, doc });
        return;
      }
      if (depth >= MAX_INDEX_DEPTH) throw new InvalidManifestError(`indexes nested deeper than ${MAX_INDEX_DEPTH}`, descriptor.digest);
      const children: { descriptor: Descriptor; doc: ParsedDocument }[] = [];
      await runPool(doc.manifests, concurrency, async (child) => {
        if (child.size > MAX_MANIFEST_BYTES) throw new InvalidManifestError(`entry ${child.digest} claims ${child.size} bytes, over the manifest limit`, descriptor.digest);
        const fetched = await fetchManifest(child.digest, child);
        tracker.add(child);
        children.push({ descriptor: { ...child }, doc: parseDocument(fetched.bytes, child.mediaType, child.digest) });
      });
      // Sorted back into index order (the pool finishes in any order) so results are stable.
      const order = new Map(doc.manifests.map((m, i) => [m.digest, i]));
      children.sort((a, b) => order.get(a.descriptor.digest)! - order.get(b.descriptor.digest)!);
      for (const c of children) await collect(c.descriptor, c.doc, depth + 1);
    };

    if (topDoc.kind === 'index' && want) {
      // One platform: the destination points at that manifest alone (as `skopeo copy` without --all does).
      let doc: ParsedDocument = topDoc;
      let chosen: Descriptor = topDescriptor;
      for (let depth = 0; doc.kind === 'index'; depth++) {
        if (depth >= MAX_INDEX_DEPTH) throw new InvalidManifestError(`indexes nested deeper than ${MAX_INDEX_DEPTH}`, chosen.digest);
        const pick = selectManifest(doc.manifests, want);
        if (pick.size > MAX_MANIFEST_BYTES) throw new InvalidManifestError(`entry ${pick.digest} claims ${pick.size} bytes, over the manifest limit`, chosen.digest);
        const fetched = await fetchManifest(pick.digest, pick);
        tracker.add(pick);
        doc = parseDocument(fetched.bytes, pick.mediaType, pick.digest);
        chosen = { mediaType: pick.mediaType, digest: pick.digest, size: pick.size, ...(pick.platform && { platform: pick.platform }) };
        if (pick.platform) selected = formatPlatform(pick.platform);
      }
      entry = chosen;
      await collect(chosen, doc, 0);
    } else {
      entry = topDescriptor;
      await collect(topDescriptor, topDoc, 0);
    }

    // 3. Configs and layers: validated already (parseDocument); foreign layers are left where they are.
    const blobs = new Map<string, Descriptor>();
    const skipped: Descriptor[] = [];
    for (const { doc } of manifests) {
      for (const d of [doc.config, ...doc.layers]) {
        tracker.add(d);
        if (d.urls && d.urls.length > 0) {
          if (!skipped.some((s) => s.digest === d.digest)) skipped.push(d);
          continue;
        }
        if (!blobs.has(d.digest)) blobs.set(d.digest, d);
      }
    }

    await runPool([...blobs.values()], concurrency, async (d) => {
      throwIfAborted(signal);
      const present = await local.find(d.digest);
      if (present) {
        if (present.size !== d.size) throw new SizeMismatchError(d.digest, d.size, present.size);
        emit({ type: 'start', digest: d.digest, mediaType: d.mediaType, size: d.size, source: 'cache' });
        emit({ type: 'done', digest: d.digest, mediaType: d.mediaType, size: d.size, received: d.size, source: 'cache' });
        return;
      }
      active.set(d.digest, { size: d.size, received: 0 });
      emit({ type: 'start', digest: d.digest, mediaType: d.mediaType, size: d.size, source: 'registry' });
      try {
        // Opening a reader makes the through-cache populate itself from the registry (verified, once per digest
        // across processes); the reader itself is not needed.
        const reader = await raceSignal(cache.moteReaderAt(d.digest), signal);
        const size = reader.size;
        await reader.close();
        // The content matches the digest, so a different size means the manifest lied about it.
        if (size !== d.size) throw new SizeMismatchError(d.digest, d.size, size);
      } catch (err) {
        throw unwrapFetchError(err);
      } finally {
        active.delete(d.digest);
      }
      emit({ type: 'done', digest: d.digest, mediaType: d.mediaType, size: d.size, received: d.size, source: 'registry' });
    });
    for (const d of blobs.values()) toWrite.set(d.digest, d);

    // 4. The destination, from the store.
    throwIfAborted(signal);
    const image: ImageToWrite = { entry, blobs: [...toWrite.values()] };
    const source = cacheBlobSource(cache, options.placement ?? 'link');
    if (dest.transport === 'oci') await writeOciLayout(dest.path, image, source, { tag, signal });
    else await writeOciArchive(dest.path, image, source, { tag, signal });

    let distinct = 0;
    for (const d of toWrite.values()) distinct += d.size;
    if (topDoc.kind === 'index' && want) distinct += topDescriptor.size; // fetched (or found), though not written
    const bytesFromRegistry = registryCache.bytesFetched - fetchedBefore + manifestBytesFromRegistry;
    const result: PullResult = {
      reference: ref.toString(),
      digest: topDescriptor.digest,
      mediaType: topDescriptor.mediaType,
      destination: formatDestination({ ...dest, ...(tag !== undefined && { tag }) }),
      manifests: manifests.map(({ descriptor, doc }) => ({
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
      tracker: { total: tracker.total, deduplicated: tracker.deduplicated, count: tracker.count },
    };
    if (selected !== undefined) result.platform = selected;
    return result;
  } catch (err) {
    throw unwrapFetchError(err);
  } finally {
    await through?.close().catch(() => {});
    await blobInfo?.close().catch(() => {});
    await local.close().catch(() => {});
    if (ownClient) await client?.close().catch(() => {});
  }
}

