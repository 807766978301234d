import type { StoreLayout } from './layout.js';
import type { UseIndex } from './index-db.js';
import { nowMicros } from '../internal/clock.js';

/**
 * What the store's parts (ingest, reader, prune, verify) share: the layout, the index and the options that
 * change how they touch the disk. One per FileMoteCache instance; data flows from FileMoteCache into these
 * modules, never back.
 */
export class StoreContext {
  readonly layout: StoreLayout;
  readonly durable: boolean;
  readonly #index: () => UseIndex;
  #warned = false;

  constructor(layout: StoreLayout, durable: boolean, index: () => UseIndex) {
    this.layout = layout;
    this.durable = durable;
    this.#index = index;
  }

  get index(): UseIndex {
    return this.#index();
  }

  /** Best effort: the mote is already published, and the index is only a hint, so a failure must not undo it. */
  recordWrite(digest: string, mediaType: string): void {
    this.#hint(() => this.index.recordWrite(digest, mediaType, nowMicros()));
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
        process.emitWarning(`motecache: metadata for ${this.layout.root} could not be updated: ${String(err)}`, {
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
