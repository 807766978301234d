/**
 * In-memory backends. Each instance keeps one bounded LRU (default 10,000 entries) for all it knows (global
 * entries and per-repository entries alike), so memory stays bounded however many repositories it sees. Every
 * operation runs synchronously between two awaits, so concurrent callers in one process never observe a
 * half-applied update (the Go original had no mutex at all).
 */
import { DEFAULT_MAX_ENTRIES, Lru } from './lru.js';
import {
  unknown,
  validateDescriptor,
  validateLayerMeta,
  validateRepository,
  type BlobDescriptor,
  type BlobDescriptorCache,
  type LayerInfoCache,
  type LayerMeta,
} from './types.js';
import { validateDigest } from '../digest/index.js';

export interface MemoryCacheOptions {
  /** Maximum number of entries kept; least recently used ones are evicted first. Default 10,000. */
  maxEntries?: number;
}

// Keys: membership/media type entries are `r\0<repo>\0<digest>`, global ones `g\0<digest>`. `\0` appears in
// neither a valid repository name nor a valid digest.
const gKey = (digest: string) => `g\0${digest}`;
const rKey = (repo: string, digest: string) => `r\0${repo}\0${digest}`;

/** `LayerInfoCache` in memory, bounded. */
export class MemoryLayerInfoCache implements LayerInfoCache {
  private readonly lru: Lru<string, LayerMeta | true>;

  constructor(options: MemoryCacheOptions = {}) {
    this.lru = new Lru(options.maxEntries ?? DEFAULT_MAX_ENTRIES);
  }

  /** Entries currently held (memberships and metadata together). */
  get size(): number {
    return this.lru.size;
  }

  get maxEntries(): number {
    return this.lru.maxEntries;
  }

  async contains(repo: string, digest: string): Promise<boolean> {
    validateRepository(repo);
    validateDigest(digest);
    return this.lru.get(rKey(repo, digest)) === true;
  }

  async add(repo: string, digest: string): Promise<void> {
    validateRepository(repo);
    validateDigest(digest);
    this.lru.set(rKey(repo, digest), true);
  }

  async meta(digest: string): Promise<LayerMeta> {
    validateDigest(digest);
    const m = this.lru.get(gKey(digest));
    if (m === undefined || m === true) throw unknown(digest);
    return { ...m };
  }

  async setMeta(digest: string, meta: LayerMeta): Promise<void> {
    validateDigest(digest);
    this.lru.set(gKey(digest), validateLayerMeta(meta));
  }
}

type Entry = BlobDescriptor | string; // global: the descriptor; per repository: its media type

/** `BlobDescriptorCache` in memory, bounded. Repository-scoped views share the instance's LRU. */
export class MemoryBlobDescriptorCache implements BlobDescriptorCache {
  private readonly lru: Lru<string, Entry>;

  constructor(options: MemoryCacheOptions = {}) {
    this.lru = new Lru(options.maxEntries ?? DEFAULT_MAX_ENTRIES);
  }

  get size(): number {
    return this.lru.size;
  }

  get maxEntries(): number {
    return this.lru.maxEntries;
  }

  async stat(digest: string): Promise<BlobDescriptor> {
    validateDigest(digest);
    return this.statGlobal(digest);
  }

  async setDescriptor(digest: string, descriptor: BlobDescriptor): Promise<void> {
    validateDigest(digest);
    const desc = validateDescriptor(descriptor);
    this.lru.set(gKey(digest), desc);
    if (desc.digest !== digest) this.lru.set(gKey(desc.digest), { ...desc });
  }

  async clear(digest: string): Promise<void> {
    validateDigest(digest);
    this.lru.delete(gKey(digest));
  }

  repositoryScoped(repo: string): BlobDescriptorCache {
    return new MemoryRepositoryScoped(this, this.lru, validateRepository(repo));
  }

  /** @internal */
  statGlobal(digest: string): BlobDescriptor {
    const e = this.lru.get(gKey(digest));
    if (e === undefined || typeof e === 'string') throw unknown(digest);
    return { ...e };
  }
}

class MemoryRepositoryScoped implements BlobDescriptorCache {
  constructor(
    private readonly parent: MemoryBlobDescriptorCache,
    private readonly lru: Lru<string, Entry>,
    private readonly repo: string,
  ) {}

  async stat(digest: string): Promise<BlobDescriptor> {
    validateDigest(digest);
    const mediaType = this.lru.get(rKey(this.repo, digest));
    if (typeof mediaType !== 'string') throw unknown(digest);
    const desc = this.parent.statGlobal(digest);
    return { ...desc, mediaType };
  }

  async setDescriptor(digest: string, descriptor: BlobDescriptor): Promise<void> {
    validateDigest(digest);
    const desc = validateDescriptor(descriptor);
    for (const d of desc.digest === digest ? [digest] : [digest, desc.digest]) {
      const g = this.lru.peek(gKey(d));
      // The global entry keeps its media type; digest and size are facts about the content.
      const mediaType = g !== undefined && typeof g !== 'string' ? g.mediaType : desc.mediaType;
      this.lru.set(gKey(d), { digest: desc.digest, size: desc.size, mediaType });
      this.lru.set(rKey(this.repo, d), desc.mediaType);
    }
  }

  async clear(digest: string): Promise<void> {
    validateDigest(digest);
    this.lru.delete(rKey(this.repo, digest));
    this.lru.delete(gKey(digest));
  }

  repositoryScoped(repo: string): BlobDescriptorCache {
    return this.parent.repositoryScoped(repo);
  }
}
