import type { StorePaths } from './paths.js';
import type { MoteIndex } from './mote-index.js';
import { nowMicros } from '../../internal/clock.js';
import type { MoteProvider } from '../roles.js';

/**
 * What the store's parts (ingest, reader, prune, verify, and the pull-through download that publishes into it)
 * share: the paths, the index and the options that change how they touch the disk. One per file store instance;
 * data flows from the store into these modules, never back.
 */
export class StoreContext {
  readonly paths: StorePaths;
  readonly durable: boolean;
  readonly #index: () => MoteIndex;
  readonly #ensure: () => void;
  #warned = false;

  /** `ensure` creates the store's layout if missing (the store does that on first use). */
  constructor(paths: StorePaths, durable: boolean, index: () => MoteIndex, ensure: () => void) {
    this.paths = paths;
    this.durable = durable;
    this.#index = index;
    this.#ensure = ensure;
  }

  /** Makes sure the store's directories exist (idempotent, cheap after the first call). */
  ensure(): void {
    this.#ensure();
  }

  get index(): MoteIndex {
    return this.#index();
  }

  /** Best effort: the mote is already published, and the index is only a hint, so a failure must not undo it. */
  recordWrite(digest: string, mediaType: string): void {
    this.#hint(() => this.index.recordWrite(digest, mediaType, nowMicros()));
  }

  /** The media type of a mote already here, where the index knows none yet (a known one is kept). Best effort. */
  recordTypeIfUnknown(digest: string, mediaType: string): void {
    this.#hint(() => this.index.recordTypeIfUnknown(digest, mediaType, nowMicros()));
  }

  recordUse(digest: string): void {
    this.#hint(() => this.index.recordUse(digest, nowMicros()));
  }

  forget(digest: string): void {
    this.#hint(() => this.index.delete(digest));
    this.notifyRemoved([digest]);
  }

  /** Listeners told which motes this process removed (removeMote, prune, eviction of corrupt motes). */
  readonly removedListeners = new Set<(digests: readonly string[]) => void>();

  /**
   * Tells the listeners, best effort: metadata pointing into the store (a descriptor cache, known locations)
   * must not outlive the blob (a registry served empty 200s when it did), but a failing listener must not fail
   * the removal that already happened.
   */
  notifyRemoved(digests: readonly string[]): void {
    if (digests.length === 0) return;
    for (const listener of this.removedListeners) this.#hint(() => listener(digests));
  }

  #hint(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (!this.#warned) {
        this.#warned = true;
        process.emitWarning(`motecache: metadata for ${this.paths.root} could not be updated: ${String(err)}`, {
          code: 'MOTECACHE_INDEX',
        });
      }
    }
  }
}

/**
 * Motes open for reading in this process, by blob path. With link-on-read, prune sees readers of every process
 * through the blob's link count; without it, this registry is what protects this process's readers.
 */
export const openReaders = {
  counts: new Map<string, number>(),
  acquire(blobPath: string): void {
    this.counts.set(blobPath, (this.counts.get(blobPath) ?? 0) + 1);
  },
  release(blobPath: string): void {
    const n = (this.counts.get(blobPath) ?? 0) - 1;
    if (n > 0) this.counts.set(blobPath, n);
    else this.counts.delete(blobPath);
  },
  has(blobPath: string): boolean {
    return this.counts.has(blobPath);
  },
};

/** What the pull-through decorator needs of a file store it wraps. */
export interface RegisteredStore {
  /** Where downloads are staged and published. */
  ctx: StoreContext;
  /** The store's own reads: its directory only, never a source the store itself reads through. */
  reads: MoteProvider;
}

/**
 * Each file store instance, for the pull-through decorator, which publishes downloads into the store it wraps (a
 * private registry rather than public accessors: the context is not part of the store's API).
 */
const stores = new WeakMap<object, RegisteredStore>();

export function registerStore(store: object, entry: RegisteredStore): void {
  stores.set(store, entry);
}

/** The registration of a file store instance, or undefined for any other object. */
export function registeredStore(store: object): RegisteredStore | undefined {
  return stores.get(store);
}
