/** What every handler of one mirror shares. */
import type { FileMoteCache } from '../store/file-cache.js';
import { PullThroughCache } from '../store/pullthrough/cache.js';
import type { RegistryMoteCache } from '../registry/registry-cache.js';
import type { ServeMetrics } from './metrics.js';
import type { TagRecords } from './tags.js';
import type { Upstreams, Route } from './upstream.js';

export interface MirrorContext {
  store: FileMoteCache;
  upstreams: Upstreams;
  metrics: ServeMetrics;
  tags: TagRecords;
  tagMaxAgeMs: number;
  immutableTags: RegExp[];
  now: () => number;
  /** One pull-through view per upstream repository (they share the store, its downloads and its locks). */
  caches: WeakMap<RegistryMoteCache, PullThroughCache>;
  /** Recently served manifests by digest (immutable, verified when stored): see manifests.ts. */
  manifests: ManifestMemo;
  /** Blob downloads this process is streaming from, by digest (for the coalescing count). */
  downloads: Map<string, number>;
}

/**
 * A small LRU of manifest bytes by digest. The store's reads update its use index (SQLite) on every call, and a
 * write there can stall the event loop for a WAL checkpoint on a busy disk (p99 of 70-180 ms in the benchmark);
 * a manifest is immutable and verified, so a hot one is answered from memory.
 */
export class ManifestMemo {
  readonly #entries = new Map<string, { bytes: Buffer; mediaType: string }>();
  #bytes = 0;
  constructor(readonly maxBytes: number) {}
  get(digest: string): { bytes: Buffer; mediaType: string } | undefined {
    const e = this.#entries.get(digest);
    if (e) {
      this.#entries.delete(digest);
      this.#entries.set(digest, e);
    }
    return e;
  }
  set(digest: string, bytes: Buffer, mediaType: string): void {
    if (bytes.length > this.maxBytes || this.#entries.has(digest)) return;
    this.#entries.set(digest, { bytes, mediaType });
    this.#bytes += bytes.length;
    for (const [d, e] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(d);
      this.#bytes -= e.bytes.length;
    }
  }
}

/** The pull-through view of the route's upstream repository. */
export function pullThrough(c: MirrorContext, route: Route): PullThroughCache {
  const source = c.upstreams.source(route);
  let cache = c.caches.get(source);
  if (!cache) c.caches.set(source, (cache = new PullThroughCache(c.store, source)));
  return cache;
}

/** The parsed request every handler gets. */
export interface Target {
  /** The name as the client wrote it (validated). */
  name: string;
  route: Route;
  head: boolean;
}
