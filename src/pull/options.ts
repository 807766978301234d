/** Every default and bound of `pull`, and the checks of its options (all before anything is fetched). */
import { InvalidArgumentError } from '../errors.js';
import { formatPlatform, hostPlatform, parsePlatform, type PlatformSpec } from '../oci/platform.js';
import { MAX_DEADLINE_MS } from './deadline.js';
import type { BlobPlacement } from './destination/blob-source.js';
import type { PullOptions } from './types.js';

/** Blobs fetched at once: enough to hide a registry's latency, few enough not to trip its rate limits. */
export const DEFAULT_CONCURRENCY = 4;
export const MAX_CONCURRENCY = 64;
/** Indexes nested in indexes are followed this deep, no deeper (a cycle is impossible by digest, a chain is not). */
export const MAX_INDEX_DEPTH = 4;
/**
 * Distinct manifests and indexes one pull takes (a multi-platform image with attestations has a few dozen), and
 * their bytes in all: the breadth bound that the depth bound is not. Beyond either, the pull fails clearly.
 */
export const MAX_DOCUMENTS = 10_000;
export const MAX_DOCUMENT_BYTES = 64 << 20;
/** Times a pull stores or fetches a mote again when a prune removed it before it could be held. */
export const MAX_HOLD_ATTEMPTS = 3;
/** Distinct configs and layers one pull takes (an image has tens; every index entry of every platform: thousands). */
export const MAX_BLOBS = 100_000;
/**
 * Blobs placed in a destination layout at once (link or copy, fsync, rename): overlaps the fsyncs, which dominate
 * a warm pull's writing on a disk that syncs slowly, and an image of many small layers.
 */
export const PLACE_CONCURRENCY = 8;

/** The options `pull` runs with, checked and with their defaults. */
export interface ResolvedPullOptions {
  /** The platform to pick from an index; undefined: keep the whole index (`allPlatforms`). */
  platform: PlatformSpec | undefined;
  concurrency: number;
  placement: BlobPlacement;
  /** The whole pull's deadline; undefined: none. */
  deadlineMs: number | undefined;
}

/** The platform to pick from an index (checked), or undefined to keep the whole index. Default: the host's. */
export function platformOption(all: boolean | undefined, platform: string | PlatformSpec | undefined): PlatformSpec | undefined {
  if (all) return undefined;
  if (platform === undefined) return hostPlatform();
  return parsePlatform(typeof platform === 'string' ? platform : formatPlatform(platform));
}

/** `concurrency` checked (1 to MAX_CONCURRENCY), or the default. */
export function concurrencyOption(n: number | undefined, what = 'concurrency'): number {
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 1 || n > MAX_CONCURRENCY)) {
    throw new InvalidArgumentError(`${what} must be a whole number from 1 to ${MAX_CONCURRENCY}, got ${n}`);
  }
  return n ?? DEFAULT_CONCURRENCY;
}

export function resolvePullOptions(options: PullOptions): ResolvedPullOptions {
  const platform = platformOption(options.allPlatforms, options.platform);
  const n = concurrencyOption(options.concurrency);
  if (options.placement !== undefined && options.placement !== 'link' && options.placement !== 'copy') {
    throw new InvalidArgumentError(`pull: placement must be 'link' or 'copy', got ${JSON.stringify(String(options.placement))}`);
  }
  // A caller's client has its own credentials and TLS policy: these options would be silently ignored.
  if (options.client !== undefined && (options.insecure !== undefined || options.authFile !== undefined || options.onRegistryEvent !== undefined || options.mirrors !== undefined)) {
    throw new InvalidArgumentError('pull: insecure, authFile, mirrors and onRegistryEvent configure the client pull makes; with your own client, give them to it instead');
  }
  if (options.pruneTo !== undefined && (!Number.isSafeInteger(options.pruneTo) || options.pruneTo < 0)) {
    throw new InvalidArgumentError(`pull: pruneTo must be a whole number of bytes >= 0, got ${String(options.pruneTo)}`);
  }
  if (options.offline && options.client !== undefined) {
    throw new InvalidArgumentError('pull: offline uses no registry client; give either offline or a client');
  }
  const d = options.deadlineMs;
  if (d !== undefined && (!Number.isSafeInteger(d) || d < 1 || d > MAX_DEADLINE_MS)) {
    throw new InvalidArgumentError(`pull: deadlineMs must be a whole number of milliseconds from 1 to ${MAX_DEADLINE_MS}, got ${String(d)}`);
  }
  return { platform, concurrency: n, placement: options.placement ?? 'link', deadlineMs: d };
}
