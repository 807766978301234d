/** What `pull` takes, reports and returns. */
import type { Descriptor } from '../oci/descriptor.js';
import type { PlatformSpec } from '../oci/platform.js';
import type { RegistryClient } from '../registry/client.js';
import type { MirrorsOption, RegistryEvent } from '../registry/types.js';
import type { FileMoteCache } from '../store/file-cache.js';
import type { BlobPlacement } from './destination/blob-source.js';

/** Where a blob's bytes came from in this pull. */
export type BlobSourceKind = 'registry' | 'cache';

/** What a blob is to the image (progress shows it). */
export type PullBlobKind = 'index' | 'manifest' | 'config' | 'layer';

/**
 * Progress. Per blob: `start`, any number of `progress` (registry downloads only), then `done`. Once every
 * manifest is known, before the first config or layer starts, one `plan`: how many distinct configs and layers the
 * pull needs and their bytes (in the store or not; foreign layers not counted), for an overall total.
 */
export type PullProgressEvent =
  | { type: 'plan'; blobs: number; size: number }
  | { type: 'start'; digest: string; mediaType: string; kind: PullBlobKind; size: number; source: BlobSourceKind }
  | { type: 'progress'; digest: string; size: number; received: number; source: 'registry' }
  | { type: 'done'; digest: string; mediaType: string; kind: PullBlobKind; size: number; received: number; source: BlobSourceKind };

export interface PullOptions {
  /** The store, or its directory. Default: the CLI's (`$MOTE_CACHE_DIR`, else `$XDG_CACHE_HOME/motecache`, else `~/.cache/motecache`). */
  cache?: FileMoteCache | string;
  /**
   * A registry client to use (and not close). Default: one made from `insecure` and `authFile`, closed at the end;
   * giving those with a client of your own is an `InvalidArgumentError` (they would be ignored).
   */
  client?: RegistryClient;
  /** Hosts that may be reached over plain HTTP or unverified TLS (see `RegistryClientOptions.insecure`). */
  insecure?: readonly string[];
  /**
   * Credentials file (Docker `config.json` / containers `auth.json`) instead of the default lookup. Checked before
   * any request: missing, unreadable or malformed is an `InvalidCredentialsError`.
   */
  authFile?: string;
  /**
   * Events of the registry client made here (each response with its redacted URL, status and time; retries; rate
   * limits; where credentials came from): for tracing, as `mote --debug` does. Must not throw (it is isolated).
   */
  onRegistryEvent?: (event: RegistryEvent) => void;
  /** Registry mirrors for the client made here (see `RegistryClientOptions.mirrors`). */
  mirrors?: MirrorsOption;
  /**
   * After the pull, prune the store to this many bytes (least recently used first), keeping this image: the
   * configuration file's `maxSize`. Reported as `PullResult.pruned`.
   */
  pruneTo?: number;
  /**
   * Contact no registry: a tag is resolved from the cache's record of it (the last pull or inspection read that
   * resolved it: see `listRefs`), every manifest and blob comes from the store. What is missing is an
   * `OfflineMissError` (`ERR_MOTE_NOT_CACHED`).
   */
  offline?: boolean;
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
  /**
   * The whole pull's deadline, in milliseconds: past it, the pull stops (as `signal` would stop it) and rejects with
   * `PullTimeoutError` (`ERR_PULL_TIMEOUT`, category `unavailable`). Default: none (each request and body is still
   * bounded by the client's timeouts, retries and minimum transfer rate).
   */
  deadlineMs?: number;
  onProgress?: (event: PullProgressEvent) => void;
}

/** Something the pull did that the caller may not have expected; the pull itself succeeded. */
export interface PullWarning {
  /** Stable: `MOTE_PLATFORM_MISMATCH` (a single-platform image for another platform than the one asked for). */
  code: string;
  message: string;
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
  /**
   * What `pruneTo` removed, when it was given. `linkedCount`/`linkedBytes`: blobs it would have removed but kept
   * because another hard link holds them (an `oci:` layout a pull linked them into, this pull's image): removing the
   * store's name would free nothing. They are counted in `remainingBytes`, which can so stay above `maxSize`.
   */
  pruned?: { removedCount: number; freedBytes: number; remainingBytes: number; maxSize: number; linkedCount: number; linkedBytes: number };
  /** What the caller should hear about (empty when nothing): the CLI prints each as a warning. */
  warnings: PullWarning[];
  /** `BytesTracker` over every descriptor of the image: `total` counts repeats, `deduplicated` each digest once. */
  tracker: { total: number; deduplicated: number; count: number };
}
