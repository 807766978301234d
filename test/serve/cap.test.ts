/**
 * The size cap (`maxSize`): the background prune keeps the store under it while clients pull, and a blob being
 * served when it is evicted is still delivered whole (the response reads an open descriptor).
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMirrorServer, type MirrorServer } from '../../src/serve/index.js';
import { FileMoteCache } from '../../src/store/index.js';
import { makeImage, type BuiltImage } from '../helpers/images.js';
import { pushLayout, registryUnavailableReason, startRegistry, type RegistryHandle } from '../helpers/registry.js';
import { makeTempDir } from '../helpers/tmp.js';

const reason = registryUnavailableReason();
const MiB = 1 << 20;

describe.skipIf(reason !== undefined)('mote serve: the size cap', () => {
  let upstream: RegistryHandle;
  let tmp: { dir: string; cleanup: () => void };
  let store: FileMoteCache;
  let mirror: MirrorServer;
  const images: BuiltImage[] = [];

  beforeAll(async () => {
    tmp = makeTempDir('mote-serve-cap-');
    upstream = await startRegistry();
    for (let i = 0; i < 4; i++) {
      const layout = path.join(tmp.dir, `layout${i}`);
      images.push(await makeImage(layout, { tag: 'v1', compress: false, layers: [{ size: 3 * MiB, seed: `img${i}` }] }));
      await pushLayout(layout, 'v1', upstream, `cap/app${i}:v1`);
    }
    store = new FileMoteCache(path.join(tmp.dir, 'cache'));
    await store.initialize();
    mirror = await startMirrorServer({ listen: '127.0.0.1:0', store, upstreams: [{ url: upstream.url }], maxSize: 8 * MiB, pruneIntervalMs: 50 });
  }, 120_000);
  afterAll(async () => {
    await mirror?.close(1000);
    await store?.close();
    await upstream?.stop();
    tmp?.cleanup();
  });

  it('pulling 4 images of ~3 MiB through an 8 MiB cap: every body whole and verified, the store back under the cap', async () => {
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        images.map(async (img, i) => {
          for (const b of img.blobs.filter((x) => x.mediaType.includes('layer'))) {
            const r = await fetch(`${mirror.url}/v2/cap/app${i}/blobs/${b.digest}`);
            const got = `sha256:${crypto.createHash('sha256').update(Buffer.from(await r.arrayBuffer())).digest('hex')}`;
            expect(got).toBe(b.digest);
          }
        }),
      );
    }
    let bytes = Infinity;
    for (let i = 0; i < 100 && bytes > 8 * MiB; i++) {
      await new Promise((r) => setTimeout(r, 50));
      bytes = (await store.stats()).bytes;
    }
    expect(bytes).toBeLessThanOrEqual(8 * MiB);
  }, 120_000);
});
