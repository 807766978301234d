/**
 * What one copy works with: the store (every blob of the copy passes through it, verified), a lease holding
 * what the copy uses, the store's blob-info cache (variants, known registry locations for mounts), the registry
 * client when either side is a registry, and the copy's progress and counters.
 */
import path from 'node:path';
import { MoteNotFoundError } from '../errors.js';
import { callSafely } from '../internal/listeners.js';
import { PullBlobInfo } from '../pull/blob-info.js';
import type { RegistryClient } from '../registry/client.js';
import { defaultCacheDir } from '../store/default-dir.js';
import { FileMoteCache } from '../store/file-cache.js';
import type { MoteLease } from '../store/file/lease.js';
import type { CopyOptions, CopyProgressEvent, CopyResult } from './types.js';

/** What the copy counts as it goes (the result's fields of the same names). */
export type CopyCounters = Pick<
  CopyResult,
  | 'bytesFromRegistry'
  | 'layersTransformed'
  | 'bytesTransformed'
  | 'layersSubstituted'
  | 'blobsExisting'
  | 'blobsMounted'
  | 'blobsUploaded'
  | 'bytesMounted'
  | 'bytesUploaded'
>;

export interface CopySession {
  readonly local: FileMoteCache;
  readonly lease: MoteLease;
  readonly blobInfo: PullBlobInfo;
  /** Present when the source or the destination is a registry. */
  readonly client: RegistryClient | undefined;
  readonly signal: AbortSignal | undefined;
  readonly counters: CopyCounters;
  emit(e: CopyProgressEvent): void;
  /** A held mote's path (the lease's link). */
  pathOf(digest: string): string;
}

export async function openCopySession(options: CopyOptions, needsClient: boolean): Promise<{ session: CopySession; close: (abandon?: boolean) => Promise<void> }> {
  const given = options.cache instanceof FileMoteCache && options.cache.fallback === undefined ? options.cache : undefined;
  const local = given ?? new FileMoteCache(path.resolve(typeof options.cache === 'string' ? options.cache : defaultCacheDir()));
  const ownClient = options.client === undefined;
  let client = options.client;
  let lease: MoteLease | undefined;
  let blobInfo: PullBlobInfo | undefined;
  const close = async (abandon = false): Promise<void> => {
    lease?.release();
    if (ownClient) await (abandon ? client?.destroy() : client?.close())?.catch(() => {});
    await blobInfo?.close().catch(() => {});
    if (!given) await local.close().catch(() => {});
  };
  try {
    if (!client && needsClient) {
      const { RegistryClient } = await import('../registry/client.js');
      client = new RegistryClient({
        ...(options.insecure && { insecure: options.insecure }),
        ...(options.authFile !== undefined && { authFile: options.authFile }),
        ...(options.onRegistryEvent && { onEvent: options.onRegistryEvent }),
        ...(options.mirrors && { mirrors: options.mirrors }),
      });
    }
    await local.initialize();
    blobInfo = new PullBlobInfo(local);
    const held = local.lease();
    lease = held;
    const session: CopySession = {
      local,
      lease: held,
      blobInfo,
      client,
      signal: options.signal,
      counters: {
        bytesFromRegistry: 0,
        layersTransformed: 0,
        bytesTransformed: 0,
        layersSubstituted: 0,
        blobsExisting: 0,
        blobsMounted: 0,
        blobsUploaded: 0,
        bytesMounted: 0,
        bytesUploaded: 0,
      },
      emit: (e) => callSafely(options.onProgress, e),
      pathOf(digest) {
        const p = held.pathOf(digest);
        if (p === undefined) throw new MoteNotFoundError(digest, 'not held by the copy');
        return p;
      },
    };
    return { session, close };
  } catch (err) {
    await close(true);
    throw err;
  }
}
