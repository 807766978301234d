/** Every default and bound of `copy`, and the checks of its options (all before anything is fetched or pushed). */
import { InvalidArgumentError } from '../errors.js';
import type { PlatformSpec } from '../oci/platform.js';
import { concurrencyOption, platformOption } from '../pull/options.js';
import type { CopyOptions, LayerCompression } from './types.js';

/** Blobs fetched, recompressed or pushed at once: `pull`'s default (4) and bound (64), see ../pull/options.ts. */
/** Blobs larger than this are pushed in PATCHes of `CHUNK_SIZE` bytes (a failure costs one chunk's request, not the blob's). */
export const CHUNKED_UPLOAD_THRESHOLD = 64 << 20;
export const CHUNK_SIZE = 16 << 20;
/** What a copy does to layer compression by default: nothing (digests preserved). */
export const DEFAULT_COMPRESS: LayerCompression = 'preserve';
/** gzip level when none is given: zlib's default, as skopeo's (Go's compress/gzip default). */
export const DEFAULT_GZIP_LEVEL = 6;
/** zstd level when none is given: zstd's default, as skopeo's (klauspost/compress `SpeedDefault` ≈ level 3). */
export const DEFAULT_ZSTD_LEVEL = 3;
export const COMPRESSIONS: readonly LayerCompression[] = ['preserve', 'gzip', 'zstd', 'none'];

export interface ResolvedCopyOptions {
  /** The platform to pick from an index; undefined: the whole index (`all`). */
  platform: PlatformSpec | undefined;
  concurrency: number;
  compress: LayerCompression;
  /** The level for `compress` (undefined for preserve/none). */
  level: number | undefined;
  removeSignatures: boolean;
}

export function resolveCopyOptions(options: CopyOptions): ResolvedCopyOptions {
  const platform = platformOption(options.all, options.platform);
  const concurrency = concurrencyOption(options.concurrency, 'copy: concurrency');
  const compress = options.compress ?? DEFAULT_COMPRESS;
  if (!COMPRESSIONS.includes(compress)) {
    throw new InvalidArgumentError(`copy: compress must be one of ${COMPRESSIONS.join(', ')}, got ${JSON.stringify(String(compress))}`);
  }
  let level = options.compressLevel;
  if (level !== undefined) {
    const max = compress === 'zstd' ? 19 : 9;
    if (compress !== 'gzip' && compress !== 'zstd') throw new InvalidArgumentError('copy: compressLevel needs compress gzip or zstd');
    if (!Number.isSafeInteger(level) || level < 1 || level > max) throw new InvalidArgumentError(`copy: compressLevel for ${compress} must be 1 to ${max}, got ${String(level)}`);
  }
  if (compress === 'gzip') level ??= DEFAULT_GZIP_LEVEL;
  if (compress === 'zstd') level ??= DEFAULT_ZSTD_LEVEL;
  if (options.client !== undefined && (options.insecure !== undefined || options.authFile !== undefined || options.onRegistryEvent !== undefined || options.mirrors !== undefined)) {
    throw new InvalidArgumentError('copy: insecure, authFile, mirrors and onRegistryEvent configure the client copy makes; with your own client, give them to it instead');
  }
  return { platform, concurrency, compress, level, removeSignatures: options.removeSignatures === true };
}
