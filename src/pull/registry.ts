/**
 * The registry-backed MoteCache `pull` reads through, loaded on first use so that importing `motecache` (or
 * starting `mote`) does not load the registry layer.
 */
import type { RegistryMoteCache } from '../registry/registry-cache.js';

export type RegistryMoteCacheLike = RegistryMoteCache;

export async function loadRegistryMoteCache(): Promise<typeof RegistryMoteCache> {
  return (await import('../registry/registry-cache.js')).RegistryMoteCache;
}
