/**
 * What one pull works with: the local store, the registry as a source, the pull-through cache over both, and the
 * pull's own accounting (progress events, bytes from the registry, the dedup tracker). Opened before the first
 * request, closed whatever happens.
 */
import path from 'node:path';
import { callSafely } from '../internal/listeners.js';
import type { Reference } from '../reference/index.js';
import type { RegistryClient } from '../registry/client.js';
import type { RegistryMoteCache } from '../registry/registry-cache.js';
import { BytesTracker } from '../store/bytes-tracker.js';
import { defaultCacheDir } from '../store/default-dir.js';
import { FileMoteCache } from '../store/file-cache.js';
import type { MoteLease } from '../store/file/lease.js';
import { PullThroughCache } from '../store/pullthrough/cache.js';
import { PullBlobInfo } from './blob-info.js';
import type { PullOptions, PullProgressEvent } from './types.js';

export interface PullSession {
  readonly ref: Reference;
  /** The store, where a mote is "already here" only if it is in its directory. */
  readonly local: FileMoteCache;
  /** The store reading through the registry: a miss is downloaded once, verified, kept. */
  readonly through: PullThroughCache;
  readonly client: RegistryClient;
  readonly source: RegistryMoteCache;
  readonly signal: AbortSignal | undefined;
  readonly tracker: BytesTracker;
  /** The motes this pull uses, held from the moment they are found or fetched until the pull ends: prune leaves them. */
  readonly lease: MoteLease;
  /** No registry may be asked: what the store lacks is an `OfflineMissError`. */
  readonly offline: boolean;
  /** Manifest bytes this pull downloaded (blob bytes are counted by `source`). */
  manifestBytes: number;
  emit(e: PullProgressEvent): void;
}

/**
 * Opens what a pull needs; `close()` releases it all (the client only if the session made it). `close(true)` after
 * a failure drops the session's own client at once, with whatever it still has in flight (see `RegistryClient.destroy`).
 */
export async function openSession(ref: Reference, options: PullOptions): Promise<{ session: PullSession; close: (abandon?: boolean) => Promise<void> }> {
  const given = options.cache instanceof FileMoteCache ? options.cache : undefined;
  // A caller's store that reads through a fallback of its own would count the fallback's motes as "already here"
  // (never bringing them into the store, nor verifying them on the way): the pull then works on the same directory,
  // with the same settings, without that fallback (as 0.1.0 did).
  const local =
    given && given.fallback === undefined
      ? given
      : given
        ? new FileMoteCache(given.root, {
            algorithm: given.algorithm,
            linkOnRead: given.linkOnRead,
            durable: given.durable,
            verifyOnRead: given.verifyOnRead,
            staleAfterMs: given.staleAfterMs,
          })
        : new FileMoteCache(path.resolve(typeof options.cache === 'string' ? options.cache : defaultCacheDir()));
  const ownStore = local !== given;
  const ownClient = options.client === undefined;
  let client = options.client;
  let blobInfo: PullBlobInfo | undefined;
  let lease: MoteLease | undefined;
  const close = async (abandon = false): Promise<void> => {
    lease?.release();
    if (ownClient) await (abandon ? client?.destroy() : client?.close())?.catch(() => {});
    await blobInfo?.close().catch(() => {});
    if (ownStore) await local.close().catch(() => {});
  };
  try {
    // The client first: it checks an explicit auth file, whose failure must come before the store is touched.
    // Loaded here, not at import: `import 'motecache'` and the CLI's other commands never load the registry layer.
    if (!client) {
      const { RegistryClient } = await import('../registry/client.js');
      // Offline, the client is never asked (every read checks `offline` first); it reads no auth file either.
      client = options.offline
        ? new RegistryClient({ credentials: false })
        : new RegistryClient({
            ...(options.insecure && { insecure: options.insecure }),
            ...(options.authFile !== undefined && { authFile: options.authFile }),
            ...(options.onRegistryEvent && { onEvent: options.onRegistryEvent }),
            ...(options.mirrors && { mirrors: options.mirrors }),
          });
    }
    await local.initialize();
    blobInfo = new PullBlobInfo(local); // opened on the first layer downloaded
    const { RegistryMoteCache } = await import('../registry/registry-cache.js');
    const source = new RegistryMoteCache(ref, client, { blobInfo });
    lease = local.lease();
    const session: PullSession = {
      ref,
      local,
      lease,
      through: new PullThroughCache(local, source),
      client,
      source,
      signal: options.signal,
      tracker: new BytesTracker(),
      offline: options.offline === true,
      manifestBytes: 0,
      emit: (e) => callSafely(options.onProgress, e),
    };
    return { session, close };
  } catch (err) {
    await close(true);
    throw err;
  }
}
