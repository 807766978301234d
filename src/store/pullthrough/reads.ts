/**
 * The read role of a pull-through cache: the local store first; on a miss, the source's bytes are fetched into the
 * local store (one download per digest across processes, verified) and served from there. With `store: false` a
 * miss is read from the source directly and nothing is kept (a read-through chain).
 */
import type { Readable } from 'node:stream';
import { parseDigest } from '../../digest/index.js';
import { MoteNotFoundError } from '../../errors.js';
import { destroyOnAbort, raceSignal, throwIfAborted } from '../../internal/abort.js';
import { callSafely } from '../../internal/listeners.js';
import type { StoreContext } from '../file/context.js';
import { isPublished } from '../file/blob-file.js';
import type { MoteProvider } from '../roles.js';
import type { MoteInfo, MoteReaderAt, MoteReadOptions } from '../types.js';
import { fetchIntoStore } from './fetch.js';
import type { FetchHint, FetchProgress } from './types.js';
import { checkSize } from '../file/check.js';
import { InvalidArgumentError } from '../../errors.js';

export interface FetchOptions extends FetchHint {
  /** Stops waiting (rejects with AbortError). The download goes on for other waiters and ends by its own bounds. */
  signal?: AbortSignal | undefined;
  /** Progress of the download, when this process does it. A listener that throws is ignored. */
  onProgress?: ((e: FetchProgress) => void) | undefined;
}

export interface PullThroughSettings {
  /** Keep what is read from the source in the local store. */
  store: boolean;
  /** Progress of every download this reader performs (see {@link FetchOptions.onProgress}). */
  onProgress?: ((e: FetchProgress) => void) | undefined;
}

export class PullThroughReads implements MoteProvider {
  /**
   * `local` answers for the local store, `ctx` is that store's context (where downloads are staged and published);
   * `source` is read on a miss.
   */
  constructor(
    readonly local: MoteProvider,
    readonly source: MoteProvider,
    readonly ctx: StoreContext,
    readonly settings: PullThroughSettings,
  ) {}

  async moteExists(digest: string): Promise<boolean> {
    return (await this.local.moteExists(digest)) || this.source.moteExists(digest);
  }

  async find(digest: string): Promise<MoteInfo | undefined> {
    return (await this.local.find(digest)) ?? this.source.find(digest);
  }

  moteRef(digest: string): string {
    return this.local.moteRef(digest);
  }

  /** With a signal, also a source that ignores it (an older provider) has its stream destroyed on abort. */
  async moteReader(digest: string, options: MoteReadOptions = {}): Promise<Readable> {
    return destroyOnAbort(await this.#read(digest, (p) => p.moteReader(digest, options), options.signal), options.signal);
  }

  moteReaderAt(digest: string): Promise<MoteReaderAt> {
    return this.#read(digest, (p) => p.moteReaderAt(digest));
  }

  /**
   * Makes the mote present in the local store: resolves once it is published there (by this process or another;
   * at once if it is there already), rejects with the typed error of a failed download.
   */
  async fetch(digest: string, options: FetchOptions = {}): Promise<void> {
    parseDigest(digest);
    if (options.size !== undefined) checkSize(options.size);
    if (options.mediaType !== undefined && typeof options.mediaType !== 'string') throw new InvalidArgumentError('fetch: mediaType must be a string');
    this.ctx.ensure();
    if (!isPublished(this.ctx.paths.blobPath(digest))) {
      const own = this.settings.onProgress;
      const extra = options.onProgress;
      const onProgress =
        own && extra ? (e: FetchProgress) => (callSafely(own, e), callSafely(extra, e)) : (own ?? extra);
      const hint: FetchHint = { size: options.size !== undefined && options.size >= 0 ? options.size : undefined, mediaType: options.mediaType };
      await raceSignal(fetchIntoStore(this.ctx, this.source, digest, onProgress, hint), options.signal);
    }
    // Whoever brought the mote in (this call's download records its hint; an earlier read without one, another
    // process, a flight started by another caller) may have known no type: this caller's fills it in. A known type
    // is kept, so a mote fetched again under another type keeps the first.
    if (options.mediaType) this.ctx.recordTypeIfUnknown(digest, options.mediaType);
  }

  async #read<T>(digest: string, open: (p: MoteProvider) => Promise<T>, signal?: AbortSignal): Promise<T> {
    parseDigest(digest);
    throwIfAborted(signal);
    const here = await orMissing(open(this.local));
    if (here !== undefined) return here;
    if (this.settings.store) {
      await this.fetch(digest, { signal });
      const fetched = await orMissing(open(this.local));
      if (fetched !== undefined) return fetched;
      // Published, then removed before we could open it (a prune, another process): read the source itself.
    }
    return open(this.source);
  }
}

/** The value, or undefined when the provider does not have the mote. */
async function orMissing<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof MoteNotFoundError) return undefined;
    throw err;
  }
}
