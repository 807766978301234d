/**
 * `FileMoteCache`: the mote store in a directory, which is also a valid OCI image layout. See the README for the
 * guarantees; in short: writes are verified then published atomically (durable by default), reads never see
 * partial bytes, several processes may share one root, and `prune` keeps it under a size by least recent use.
 *
 * The local store is `FileStore` (./file/); this class adds the `fallback` options, a shorthand for the
 * pull-through decorator over its own reads (`new PullThroughCache(store, source)` is the same thing, spelled out).
 * The constructor touches nothing on disk; the first call (or `initialize()`) creates the layout.
 */
import type { Readable } from 'node:stream';
import type { DigestAlgorithm } from '../digest/index.js';
import { InvalidArgumentError } from '../errors.js';
import { registeredStore } from './file/context.js';
import { FileStore } from './file/file-store.js';
import { PullThroughReads } from './pullthrough/reads.js';
import { sweepFetchState } from './pullthrough/sweep.js';
import type { FetchProgress } from './pullthrough/types.js';
import type { MoteCache, MoteProvider } from './roles.js';
import type { MoteInfo, MoteReaderAt, MoteReadOptions, VerifyOnRead } from './types.js';

export interface FileMoteCacheOptions {
  /** Algorithm for `put` without an expected digest. Default `'sha256'`. */
  algorithm?: DigestAlgorithm;
  /** Read through a private hard link so removal or pruning mid-read is harmless. Default `true`. */
  linkOnRead?: boolean;
  /** A source read on a miss (e.g. a registry). Never written to, never pruned. */
  fallback?: MoteProvider;
  /**
   * Store what is read from the fallback here (verified): one download per digest across every process sharing
   * the root, resumed after an interruption when the fallback is `RangeReadable`. Default `false` (read through
   * without keeping). With `true` this instance is a `PullThroughCache` over its own directory.
   */
  populateFromFallback?: boolean;
  /**
   * Progress of fallback downloads this process performs for `populateFromFallback` (several per second; throttle
   * in the listener). `received` counts the bytes in the partial download, resumed ones included; `size` is the
   * size the fallback announced (-1 if unknown). Not called while another process does the download. A throwing
   * listener is ignored.
   */
  onFallbackProgress?: (e: FetchProgress) => void;
  /** fsync each file before its rename and the directory after it. Default `true`. */
  durable?: boolean;
  /** `'always'`: re-hash on every read; a corrupt mote fails the read and is evicted. Default `'never'`. */
  verifyOnRead?: VerifyOnRead;
  /** Age after which abandoned temporaries are swept (`initialize`, `verify`). Default one hour. */
  staleAfterMs?: number;
}

export class FileMoteCache extends FileStore implements MoteCache {
  readonly fallback: MoteProvider | undefined;
  readonly populateFromFallback: boolean;
  readonly onFallbackProgress: ((e: FetchProgress) => void) | undefined;
  /** The pull-through reads over this store, when there is a fallback. */
  readonly #through: PullThroughReads | undefined;

  constructor(root: string, options: FileMoteCacheOptions = {}) {
    // Every store sweeps abandoned pull-through state: a plain `mote verify` cleans up after a crashed pull too.
    super(root, options, [sweepFetchState]);
    this.fallback = options.fallback;
    if ((this.fallback as unknown) === this) throw new InvalidArgumentError('FileMoteCache: a cache cannot be its own fallback');
    this.populateFromFallback = options.populateFromFallback ?? false;
    this.onFallbackProgress = options.onFallbackProgress;
    if (this.onFallbackProgress !== undefined && typeof this.onFallbackProgress !== 'function') {
      throw new InvalidArgumentError('FileMoteCache: onFallbackProgress must be a function');
    }
    if (this.fallback) {
      // Over the store's own reads, not this class's (which would go through the fallback again).
      const { ctx, reads } = registeredStore(this)!;
      this.#through = new PullThroughReads(reads, this.fallback, ctx, {
        store: this.populateFromFallback,
        onProgress: this.onFallbackProgress,
      });
    }
  }

  /** True if the mote is here, or in the fallback. */
  override async moteExists(digest: string): Promise<boolean> {
    return this.#through ? this.#through.moteExists(digest) : super.moteExists(digest);
  }

  /** The mote's info from this store, else from the fallback, else `undefined`. */
  override async find(digest: string): Promise<MoteInfo | undefined> {
    return this.#through ? this.#through.find(digest) : super.find(digest);
  }

  override async moteReader(digest: string, options?: MoteReadOptions): Promise<Readable> {
    return this.#through ? this.#through.moteReader(digest, options) : super.moteReader(digest, options);
  }

  override async moteReaderAt(digest: string): Promise<MoteReaderAt> {
    return this.#through ? this.#through.moteReaderAt(digest) : super.moteReaderAt(digest);
  }
}
