// examples/images.mjs: the image metadata cache and its warmer. Against a registry of yours holding team/app with
// semver tags: `REGISTRY=localhost:5000 node examples/images.mjs` (the tests run it so, against a real registry).
import { KvImageMetadataStore, SqliteKeyValueStore } from 'motecache/metadata';
import { ImageMetadataCache, latestTag } from 'motecache/images';
import { RegistryClient } from 'motecache/registry';
import { Warmer } from 'motecache/warm';

const app = `${process.env.REGISTRY ?? 'registry.example.com'}/team/app`;
// The store `mote tags` uses by default: SQLite in the cache directory.
const store = new KvImageMetadataStore(new SqliteKeyValueStore(`${process.env.HOME}/.cache/motecache/.mote/metadata.db`));
const client = new RegistryClient();
const cache = new ImageMetadataCache({ store, client });
const info = await cache.getImage(app, 'v1.2.0'); // ImageInfo
const latest = await latestTag(cache, app, { semver: '^1.0' });
console.log(info.digest, info.createdAt, latest.tag);
const warmer = new Warmer({ client, store, repositories: [app], onChange: console.log });
console.log(await warmer.cycle());
await client.close();
await store.close();
