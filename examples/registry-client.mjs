// examples/registry-client.mjs: the distribution API. Against a registry of yours holding team/app:1.0:
// `REGISTRY=localhost:5000 node examples/registry-client.mjs` (the tests run it so, against a real registry).
import { RegistryClient, parseReference } from 'motecache';

const registry = process.env.REGISTRY ?? 'registry.lan:5000';
const client = new RegistryClient({ insecure: [registry] });
const repo = parseReference(`${registry}/team/app:1.0`); // { registry, repository, tag }
const tags = await client.tags(repo); // follows Link pagination
const { descriptor, bytes } = await client.getManifest(repo, '1.0'); // OCI + Docker types in Accept
const layer = JSON.parse(bytes.toString()).layers[0];
const blob = await client.getBlob(repo, layer.digest, { offset: Math.floor(layer.size / 2) }); // Range; blob.body is a Readable
console.log(tags, descriptor.digest, blob.length);
await client.close(); // a body nobody reads (blob.body here) is destroyed: close() does not wait for it
