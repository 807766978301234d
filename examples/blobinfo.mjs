// examples/blobinfo.mjs: the blob-info cache (`node examples/blobinfo.mjs`; the tests run it as it is here).
import { FileMoteCache, blobInfoCacheFor, openBlobInfoCache, recordLayerSource, locateLayer, LayerBlobInfo,
  parseReference } from 'motecache';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dir = mkdtempSync(path.join(tmpdir(), 'blobinfo-example-'));

const layer = { digest: 'sha256:' + 'ab'.repeat(32), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: 1 };

const bic = openBlobInfoCache(path.join(dir, 'blobinfo.db')); // '' or no path: in memory
await recordLayerSource(bic, layer, 'ghcr.io/acme/base:1.0');
await recordLayerSource(bic, layer, 'registry.example:5000/team/app'); // -> registry.example:5000/team/app:latest

// Known sources, newest first; with matchRegistry only those a cross-repository mount on the destination can use.
const dest = parseReference('ghcr.io/acme/app:2.0');
console.log((await locateLayer(bic, layer, dest, true)).map(String)); // [ 'ghcr.io/acme/base:1.0' ]
console.log(await new LayerBlobInfo([layer]).getSources(bic));
// Map { 'sha256:abab…' => [ 'registry.example:5000/team/app:latest', 'ghcr.io/acme/base:1.0' ] }

// Variants: the gzip layer and its uncompressed tar.
const tar = 'sha256:' + 'cd'.repeat(32);
await bic.recordDigestUntransformedPair(layer.digest, tar);
await bic.recordDigestTransformerName(layer.digest, 'gzip');
await bic.recordKnownLocation('oci', 'Layer', tar, 'ghcr.io/acme/plain:1');
console.log(await bic.candidateLocations('oci', 'Layer', layer.digest, { canSubstitute: true, limit: 10 }));
// [ { digest: layer, transformerName: 'gzip', location: 'registry.example:5000/…', lastSeen: Date }, …,
//   { digest: tar, transformerName: 'unknown', location: 'ghcr.io/acme/plain:1', … } ]
await bic.close();

// A store's own cache: <root>/.mote/blobinfo.db, invalidated when the store removes or prunes motes.
const store = new FileMoteCache(path.join(dir, 'store'));
const storeBic = await blobInfoCacheFor(store);
const { digest } = await store.put(Buffer.from('hello'));
await storeBic.recordInStore(digest);
await store.removeMote(digest);
console.log(await storeBic.storeLocations(digest)); // []
await storeBic.close();
await store.close();
rmSync(dir, { recursive: true });
