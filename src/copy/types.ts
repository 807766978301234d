/** What `copy` takes, reports and returns. */
import type { PlatformSpec } from '../oci/platform.js';
import type { PullProgressEvent } from '../pull/types.js';
import type { RegistryClient } from '../registry/client.js';
import type { MirrorsOption, RegistryEvent } from '../registry/types.js';
import type { FileMoteCache } from '../store/file-cache.js';

/**
 * What a copy does to layers: `'preserve'` (default) keeps every blob as it is (digests preserved); `'gzip'`,
 * `'zstd'` and `'none'` rewrite each layer that is in another form into that one (the manifest is rewritten;
 * the config's `diff_ids` stay). zstd:chunked layers are never produced and always passed through untouched.
 */
export type LayerCompression = 'preserve' | 'gzip' | 'zstd' | 'none';

/** How a blob reached the destination registry. */
export type PushKind = 'exists' | 'mounted' | 'uploaded';

/**
 * Progress: `pull`'s events for reading the source into the store (registry or local), then per layer put in
 * another form one `transform` (`substituted`: a variant the store already had), then per blob one `push`.
 */
export type CopyProgressEvent =
  | PullProgressEvent
  | { type: 'transform'; digest: string; to: string; size: number; compression: LayerCompression; substituted: boolean }
  | { type: 'push'; digest: string; size: number; kind: PushKind };

export interface CopyOptions {
  /** The store, or its directory. Default: the CLI's (as `pull`). */
  cache?: FileMoteCache | string;
  /** A client to use (and not close). Default: one made from `insecure` and `authFile`. */
  client?: RegistryClient;
  insecure?: readonly string[];
  authFile?: string;
  /**
   * Events of the registry client made here (each response with its redacted URL, status and time; retries; rate
   * limits; where credentials came from): for tracing, as `mote --debug` does. Must not throw (it is isolated).
   */
  onRegistryEvent?: (event: RegistryEvent) => void;
  /** Registry mirrors for the client made here (see `RegistryClientOptions.mirrors`). */
  mirrors?: MirrorsOption;
  /** Copy every platform of an index (skopeo's `--all`). Default: the host's platform only. */
  all?: boolean;
  /** `os/arch[/variant]` to pick from an index. Default: the host's. */
  platform?: string | PlatformSpec;
  compress?: LayerCompression;
  /** gzip 1-9 (default 6), zstd 1-19 (default 3). */
  compressLevel?: number;
  /**
   * Rewrite (recompress) an image that is signed (a cosign `sha256-<hex>.sig` tag next to it in the source
   * registry): the signature then names a manifest the destination no longer has. Default false: such a copy
   * fails with `InvalidArgumentError` instead of dropping the signature silently.
   */
  removeSignatures?: boolean;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (event: CopyProgressEvent) => void;
}

export interface CopyResult {
  source: string;
  destination: string;
  /** What the destination's reference now names (differs from the source's when layers were rewritten). */
  digest: string;
  mediaType: string;
  sourceDigest: string;
  platform?: string;
  /** Image manifests copied. */
  manifests: number;
  /** Distinct blobs in the destination image (manifests and index included). */
  blobs: number;
  /** Body bytes downloaded from the source registry. */
  bytesFromRegistry: number;
  /** Bytes of the source image already in the store (or read from a local layout into it). */
  bytesFromCache: number;
  /** Layers compressed / decompressed by this copy, and their input bytes. */
  layersTransformed: number;
  bytesTransformed: number;
  /** Layers put in the asked form from a variant the store already held (nothing compressed). */
  layersSubstituted: number;
  /** Registry destinations: blobs the destination had (HEAD), mounted from another repository, uploaded. */
  blobsExisting: number;
  blobsMounted: number;
  blobsUploaded: number;
  bytesMounted: number;
  bytesUploaded: number;
}
