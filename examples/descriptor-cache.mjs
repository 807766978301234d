// examples/descriptor-cache.mjs: the blob descriptor cache (`node examples/descriptor-cache.mjs`; the tests run it).
import { MemoryBlobDescriptorCache, RedisBlobDescriptorCache, BlobUnknownError, digestOf } from 'motecache';

// In memory (bounded: 10,000 entries by default), or on Redis: `new RedisBlobDescriptorCache('redis://127.0.0.1:6379')`.
const cache = process.env.REDIS_URL ? new RedisBlobDescriptorCache(process.env.REDIS_URL) : new MemoryBlobDescriptorCache();

const layer = { digest: digestOf('layer bytes'), size: 11, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };
const repo = cache.repositoryScoped('library/alpine');
await repo.setDescriptor(layer.digest, layer);

console.log(await repo.stat(layer.digest));  // { digest, size: 11, mediaType: '…tar+gzip' }
console.log(await cache.stat(layer.digest)); // the global entry: the same

try {
  await cache.repositoryScoped('library/busybox').stat(layer.digest);
} catch (err) {
  if (!(err instanceof BlobUnknownError)) throw err; // not recorded in that repository: ask the backend
}

await repo.clear(layer.digest); // the blob was deleted: forget it everywhere
await cache.close?.();           // Redis caches built from a URL close their client
