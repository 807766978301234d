// The pull-through decorator on its own (`npm run build` first; `node examples/pull-through.mjs`): a local store
// that reads through a source. Here the source is another store standing in for a registry (a RegistryMoteCache
// is used the same way; see docs/registry.md). Run by the test suite (test/examples.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ErrorCategory, FileMoteCache, PullThroughCache, digestOf, errorCategory } from 'motecache';

const scratch = mkdtempSync(path.join(tmpdir(), 'mote-example-'));
try {
  const source = new FileMoteCache(path.join(scratch, 'source'));
  const layer = Buffer.alloc(1 << 20, 3);
  const { digest } = await source.put(layer, { mediaType: 'application/vnd.oci.image.layer.v1.tar' });

  // Wrap a local store and a source: reads go to the local store, a miss is fetched into it first.
  let last; // the latest progress event of a download
  const local = new FileMoteCache(path.join(scratch, 'local'));
  const cache = new PullThroughCache(local, source, { onProgress: (e) => (last = e) });
  console.log('before  ', await local.moteExists(digest)); // false: only the source has it

  // Eight readers at once: one download, verified, kept; every reader gets the bytes from the local store.
  const bodies = await Promise.all(Array.from({ length: 8 }, () => cache.moteReader(digest).then(collect)));
  console.log('read    ', bodies.every((b) => b.equals(layer)), last.received === layer.length);
  console.log('after   ', await local.moteExists(digest), (await local.find(digest)).size);

  // fetch(): present locally without reading it (what `pull` does for each layer). Already here: nothing to do.
  await cache.fetch(digest);

  // A digest the source does not have: the error says what kind of failure it is.
  const missing = digestOf('nowhere');
  const err = await cache.moteReader(missing).catch((e) => e);
  console.log('missing ', err.code, errorCategory(err) === ErrorCategory.NotFound);

  await local.close();
  await source.close();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

async function collect(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}
