/**
 * `PullThroughCache`: a decorator that makes a local file store read through a source (go-containerregistry's
 * `cache.Image(img, c)`, distribution's `proxyBlobStore{local, remote}`): a miss is fetched from the source into the
 * local store (one download per digest across every process sharing the store, resumable, verified) and served
 * from there. Writes and management go to the local store; the source is never written to, never pruned.
 *
 *   const cache = new PullThroughCache(new FileMoteCache(dir), new RegistryMoteCache(ref, client));
 *   await cache.fetch(digest);                 // present locally once this resolves
 *   const stream = await cache.moteReader(d);  // fetched on a miss, then read from the local store
 */
import { Readable, type Writable } from 'node:stream';
import { InvalidArgumentError } from '../../errors.js';
import { registeredStore } from '../file/context.js';
import type { MoteCache, MoteProvider } from '../roles.js';
import type {
  CommitMode,
  MoteInfo,
  MoteReaderAt,
  MoteReadOptions,
  PruneOptions,
  PruneResult,
  StoreStats,
  VerifyOptions,
  VerifyResult,
} from '../types.js';
import { PullThroughReads, type FetchOptions } from './reads.js';
import { readGrowing } from './growing.js';
import type { FetchProgress } from './types.js';

export interface PullThroughCacheOptions {
  /**
   * Progress of every download this instance performs (several per second; throttle in the listener). Not called
   * while another process does the download. A listener that throws is ignored.
   */
  onProgress?: (e: FetchProgress) => void;
}

export class PullThroughCache implements MoteCache {
  /** The local store: a `FileMoteCache` (downloads are staged and published in its directory). */
  readonly local: MoteCache;
  /** Where misses are read from (a registry). */
  readonly source: MoteProvider;
  readonly #reads: PullThroughReads;

  constructor(local: MoteCache, source: MoteProvider, options: PullThroughCacheOptions = {}) {
    const store = typeof local === 'object' && local !== null ? registeredStore(local) : undefined;
    if (!store) throw new InvalidArgumentError('PullThroughCache: the local store must be a FileMoteCache (downloads are staged in its directory)');
    if (typeof source !== 'object' || source === null || typeof source.moteReader !== 'function') {
      throw new InvalidArgumentError('PullThroughCache: the source must be a MoteProvider');
    }
    if ((source as unknown) === local) throw new InvalidArgumentError('PullThroughCache: a store cannot be its own source');
    if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
      throw new InvalidArgumentError('PullThroughCache: onProgress must be a function');
    }
    this.local = local;
    this.source = source;
    // The local store's own reads: a fallback the local store may have of its own is not consulted through this
    // cache (its misses are fetched from `source` into the store, which is what this cache promises).
    this.#reads = new PullThroughReads(store.reads, source, store.ctx, { store: true, onProgress: options.onProgress });
  }

  /** Makes the mote present in the local store (downloading it once, whoever else asks); see `PullThroughReads.fetch`. */
  fetch(digest: string, options?: FetchOptions): Promise<void> {
    return this.#reads.fetch(digest, options);
  }

  /**
   * The mote's bytes as they are downloaded (see growing.ts): starts the fetch or joins the one running (in this
   * process or another), and streams from the growing partial without waiting for the end. The stream errors
   * before its last byte if the download fails or the bytes it delivered do not hash to `digest`. `size` must be
   * the mote's size (a HEAD of the source). The download goes on for others when this stream is destroyed.
   */
  growingReader(digest: string, size: number, options: FetchOptions & { pollMs?: number } = {}): Readable {
    const done = this.fetch(digest, { ...options, size, signal: undefined });
    done.catch(() => {}); // reported through the stream
    const { pollMs = 20, signal } = options;
    return Readable.from(readGrowing(this.#reads.ctx.paths, digest, size, done, { pollMs, signal }), { objectMode: false });
  }

  // The read role: local first, fetched on a miss.
  moteExists(digest: string): Promise<boolean> {
    return this.#reads.moteExists(digest);
  }
  find(digest: string): Promise<MoteInfo | undefined> {
    return this.#reads.find(digest);
  }
  moteRef(digest: string): string {
    return this.#reads.moteRef(digest);
  }
  moteReader(digest: string, options?: MoteReadOptions): Promise<Readable> {
    return this.#reads.moteReader(digest, options);
  }
  moteReaderAt(digest: string): Promise<MoteReaderAt> {
    return this.#reads.moteReaderAt(digest);
  }

  // The write role: the local store.
  createMote(digest: string, mediaType: string, size: number): Promise<MoteInfo> {
    return this.local.createMote(digest, mediaType, size);
  }
  moteWriter(digest: string): Promise<Writable> {
    return this.local.moteWriter(digest);
  }
  commitMote(sourcePath: string, mote: MoteInfo, mode: CommitMode): Promise<void> {
    return this.local.commitMote(sourcePath, mote, mode);
  }

  // The manage role: the local store (never the source).
  initialize(): Promise<void> {
    return this.local.initialize();
  }
  isDirty(): boolean {
    return this.local.isDirty();
  }
  refresh(): Promise<boolean> {
    return this.local.refresh();
  }
  update(): Promise<void> {
    return this.local.update();
  }
  removeMote(digest: string): Promise<void> {
    return this.local.removeMote(digest);
  }
  prune(maxSize: number, options?: PruneOptions): Promise<PruneResult> {
    return this.local.prune(maxSize, options);
  }
  list(): AsyncIterable<MoteInfo> {
    return this.local.list();
  }
  stats(): Promise<StoreStats> {
    return this.local.stats();
  }
  verify(options?: VerifyOptions): Promise<VerifyResult> {
    return this.local.verify(options);
  }
}
