// examples/registry-pull-through.mjs: a registry read through the store. Against a registry of yours holding
// team/app:1.0: `REGISTRY=localhost:5000 node examples/registry-pull-through.mjs` (the tests run it so).
import { FileMoteCache, PullThroughCache, RegistryClient, RegistryMoteCache, blobInfoCacheFor } from 'motecache';

const host = process.env.REGISTRY ?? 'registry.example.com';
const client = new RegistryClient({ insecure: [host] });
const store = new FileMoteCache(`${process.env.HOME}/.cache/motecache`);
const blobInfo = await blobInfoCacheFor(store);
const registry = new RegistryMoteCache(`${host}/team/app:1.0`, client, {
  blobInfo, // every blob served is recorded with recordLayerSource
});
const cache = new PullThroughCache(store, registry);

const { bytes } = await client.getManifest(`${host}/team/app`, '1.0');
const layerDigest = JSON.parse(bytes.toString()).layers[0].digest;
await cache.fetch(layerDigest); // downloaded once (across processes), verified, kept
const stream = await cache.moteReader(layerDigest); // read from the store; a miss is fetched first
let read = 0;
for await (const chunk of stream) read += chunk.length;
console.log(layerDigest, read, await store.moteExists(layerDigest));
await blobInfo.close();
await store.close();
await client.close();
