// Multi-process pruner: until the stop file appears, prunes the shared root to a size budget, over and over.
// argv[2]: JSON { root, stopFile, budget }
import fs from 'node:fs';
import { FileMoteCache, errorInfo, report, waitForGo } from './_common.mjs';

const cfg = JSON.parse(process.argv[2]);
const cache = new FileMoteCache(cfg.root, { durable: false });
await cache.initialize();
const result = { runs: 0, removed: 0, freedBytes: 0, errors: [] };

process.stdout.write('READY\n');
await waitForGo();
while (!fs.existsSync(cfg.stopFile)) {
  try {
    const r = await cache.prune(cfg.budget);
    result.runs++;
    result.removed += r.removed;
    result.freedBytes += r.freedBytes;
  } catch (err) {
    result.errors.push(errorInfo(err));
  }
  await new Promise((res) => setTimeout(res, 10));
}
await cache.close();
report(result);
