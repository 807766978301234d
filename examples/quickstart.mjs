// A runnable tour of the library API (`npm run build` first; `node examples/quickstart.mjs`).
// It is also run by the test suite (test/examples.test.ts), so it stays true.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BytesTracker, DigestMismatchError, FileMoteCache, digestOf } from 'motecache';

const scratch = mkdtempSync(path.join(tmpdir(), 'mote-example-'));
try {
  // A store is a directory; nothing is touched on disk until the first call.
  const cache = new FileMoteCache(path.join(scratch, 'cache'));

  // 1. put() a buffer: hashed, verified against what you expect, published atomically.
  const manifest = Buffer.from('{"schemaVersion":2}');
  const info = await cache.put(manifest, { mediaType: 'application/vnd.oci.image.manifest.v1+json' });
  console.log('put     ', info.digest, info.size, info.mediaType);

  // 2. Stream a layer in, announced first (the OCI push shape: digest and size are known up front).
  const layer = Buffer.alloc(3 << 20, 7);
  const layerDigest = digestOf(layer);
  await cache.createMote(layerDigest, 'application/vnd.oci.image.layer.v1.tar', layer.length);
  await pipeline(Readable.from([layer]), await cache.moteWriter(layerDigest)); // resolves after the commit
  console.log('stream  ', layerDigest, (await cache.find(layerDigest))?.size);

  // 3. A wrong body is refused with a typed error and nothing is published.
  const other = Buffer.from('not the layer');
  try {
    await cache.put(other, { digest: layerDigest.replace(/.$/, (c) => (c === '0' ? '1' : '0')) });
  } catch (err) {
    console.log('refused ', err instanceof DigestMismatchError, err.code);
  }

  // 4. Read back: as a stream, or at random offsets (closed automatically with `await using` on Node >= 22).
  let read = 0;
  for await (const chunk of await cache.moteReader(layerDigest)) read += chunk.length;
  const at = await cache.moteReaderAt(layerDigest);
  const head = Buffer.alloc(4);
  await at.read(head, 0, 4, 0);
  await at.close();
  console.log('read    ', read, head.toString('hex'));

  // 5. Add a file you already have; 'move' renames it in (or copies across filesystems) after verifying it.
  const file = path.join(scratch, 'config.json');
  writeFileSync(file, '{"architecture":"amd64"}');
  const config = { digest: digestOf('{"architecture":"amd64"}'), size: 24, mediaType: 'application/vnd.oci.image.config.v1+json' };
  await cache.commitMote(file, config, 'move');

  // 6. Dedup accounting, stats, verification and size-bounded pruning.
  const tracker = new BytesTracker();
  for (const d of [info, config, config]) tracker.add(d);
  console.log('tracker ', tracker.total, tracker.deduplicated);
  console.log('stats   ', await cache.stats());
  console.log('verify  ', await cache.verify());
  const pruned = await cache.prune(1 << 20); // LRU: the manifest, then the layer, go; the config (used last) stays
  console.log('prune   ', `removed: ${pruned.removed}, freedBytes: ${pruned.freedBytes}, remainingBytes: ${pruned.remainingBytes}`);
  await cache.close();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
