// examples/library.mjs: the store in a few calls (`node examples/library.mjs`; the tests run it as it is here).
import { FileMoteCache, digestOf } from 'motecache';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const cache = new FileMoteCache(`${process.env.HOME}/.cache/motecache`);

// Store bytes; get their digest. Verified against what you expect, published atomically.
const { digest } = await cache.put(Buffer.from('{"schemaVersion":2}'), {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
});

// Stream a layer in when you know its digest and size up front (the OCI push shape).
const layer = Buffer.alloc(1 << 20, 7); // what a registry's response body would bring
const layerDigest = digestOf(layer);
await cache.createMote(layerDigest, 'application/vnd.oci.image.layer.v1.tar+gzip', layer.length);
await pipeline(Readable.from([layer]), await cache.moteWriter(layerDigest)); // resolves after the commit, or rejects typed

// Read it back.
let read = 0;
for await (const chunk of await cache.moteReader(layerDigest)) read += chunk.length;
console.log(digest, layerDigest, read);

// Keep the cache under 10 GiB, least recently used first.
await cache.prune(10 * 2 ** 30);
await cache.close();
