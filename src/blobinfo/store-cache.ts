/**
 * The blob-info cache of a mote store: `<root>/.mote/blobinfo.db`, with the store's own copies recorded as
 * known locations that are forgotten when the store removes the motes.
 */
import path from 'node:path';
import type { FileMoteCache } from '../store/file-cache.js';
import { SqliteBlobInfoCache, type SqliteBlobInfoCacheOptions } from './sqlite.js';
import type { CandidateLocation } from './types.js';

/** Transport of locations inside a mote store. Scope: the store's absolute root; location: the blob's path. */
export const MOTE_TRANSPORT = 'mote';

/** The scope of a store's own locations: its absolute root. */
export function moteScope(cache: FileMoteCache): string {
  return path.resolve(cache.root);
}

/** `<root>/.mote/blobinfo.db`: where a store keeps its default blob-info cache. */
export function blobInfoPathFor(cache: FileMoteCache): string {
  return path.join(path.resolve(cache.root), '.mote', 'blobinfo.db');
}

/**
 * A {@link SqliteBlobInfoCache} on `<root>/.mote/blobinfo.db` (the store is initialised first), subscribed to
 * the store's removals: when this process removes or prunes motes (or evicts corrupt ones), their locations in
 * the store (transport `mote`, scope = root) are forgotten, so no metadata outlives the blob (distribution issue
 * 1356). Removals by other processes are not seen: check `moteExists` before trusting a `mote` location.
 * `close()` also unsubscribes. Throws `CacheUnavailableError` if the database cannot be used; the store itself
 * keeps working either way.
 */
export async function blobInfoCacheFor(cache: FileMoteCache, options?: SqliteBlobInfoCacheOptions): Promise<StoreBlobInfoCache> {
  await cache.initialize();
  return new StoreBlobInfoCache(cache, options);
}

export class StoreBlobInfoCache extends SqliteBlobInfoCache {
  readonly store: FileMoteCache;
  readonly scope: string;
  readonly #unsubscribe: () => void;

  constructor(store: FileMoteCache, options?: SqliteBlobInfoCacheOptions) {
    super(blobInfoPathFor(store), options);
    this.store = store;
    this.scope = moteScope(store);
    this.#unsubscribe = store.onRemoved((digests) => {
      // Queued now, committed at the end of the tick; reads through this instance see it at once.
      this.forgetLocations(MOTE_TRANSPORT, this.scope, digests).catch((err: unknown) => {
        process.emitWarning(`motecache: could not forget removed motes in ${this.path}: ${String(err)}`, {
          code: 'MOTECACHE_BLOBINFO',
        });
      });
    });
  }

  /** Records that `digest` is in the store (transport `mote`, scope = root, location = its blob path). */
  async recordInStore(digest: string): Promise<void> {
    await this.recordKnownLocation(MOTE_TRANSPORT, this.scope, digest, this.store.moteRef(digest));
  }

  /**
   * The store's own locations of `digest` (and, with `canSubstitute`, of its variants), each checked against the
   * store: a blob removed behind this instance's back (another process, `mote prune`, another FileMoteCache on
   * the same root) is forgotten here instead of being reported. The subscription only makes that cheaper.
   */
  async storeLocations(digest: string, canSubstitute = false): Promise<CandidateLocation[]> {
    const found = await this.candidateLocations(MOTE_TRANSPORT, this.scope, digest, { canSubstitute });
    const present: CandidateLocation[] = [];
    const gone: string[] = [];
    for (const c of found) {
      if (await this.store.moteExists(c.digest).catch(() => false)) present.push(c);
      else gone.push(c.digest);
    }
    if (gone.length > 0) await this.forgetLocations(MOTE_TRANSPORT, this.scope, gone);
    return present;
  }

  override async close(): Promise<void> {
    this.#unsubscribe();
    await super.close();
  }
}

