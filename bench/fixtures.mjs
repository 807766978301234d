// Shared, lazily built inputs: the big chunked source, the small random contents, and stores holding them.
import { join } from 'node:path';
import { cacache, closeMote, openMote } from './adapters.mjs';
import { freshDir, MiB, pool, randomBuffers, rmrf } from './util.mjs';

export function makeFixtures({ lib, tmp, sizes, log }) {
  let big, small, stores;
  return {
    /** `sizes.bigMiB` distinct 1 MiB random chunks, generated once and reused by every stream case. */
    bigChunks() {
      if (!big) {
        log(`  generating ${sizes.bigMiB} × 1 MiB random chunks (untimed)`);
        big = randomBuffers(sizes.bigMiB, MiB);
      }
      return big;
    },
    /** `sizes.smallCount` distinct random contents of `sizes.smallSize` bytes. */
    smallData() {
      small ??= randomBuffers(sizes.smallCount, sizes.smallSize);
      return small;
    },
    /** A motecache store (plus a verifying instance on the same root) and a cacache store holding smallData(). */
    async smallStores() {
      if (stores) return stores;
      const data = this.smallData();
      const s = { data, moteDir: join(tmp, 'small-mote'), cacDir: await freshDir(join(tmp, 'small-cacache')) };
      log(`  populating small-mote stores with ${data.length} contents (untimed)`);
      if (lib) {
        s.mote = await openMote(lib, s.moteDir, { durable: false });
        s.digests = new Array(data.length);
        await pool(data, 8, async (d, i) => {
          s.digests[i] = (await s.mote.put(d)).digest;
        });
        s.paths = s.digests.map((d) => s.mote.moteRef(d));
        s.moteVerify = await openMote(lib, s.moteDir, { durable: false, verifyOnRead: 'always' }, { fresh: false });
      }
      s.integrities = new Array(data.length);
      await pool(data, 8, async (d, i) => {
        s.integrities[i] = await cacache.put(s.cacDir, `k${i}`, d);
      });
      stores = s;
      return s;
    },
    releaseBig() {
      big = undefined;
    },
    async disposeSmallStores() {
      if (stores) {
        await closeMote(stores.moteVerify);
        await closeMote(stores.mote);
        await rmrf(stores.moteDir);
        await rmrf(stores.cacDir);
        stores = undefined;
      }
    },
    async dispose() {
      await this.disposeSmallStores();
      big = small = undefined;
    },
  };
}
