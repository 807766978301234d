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
  /** Blob downloads this process is streaming from, by digest (for the coalescing count). */
  downloads: Map<string, number>;
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
