// Records one shared tag (and a tag of its own) again and again, each time with another digest, while other
// processes do the same: the image view of the cache (`.mote/refs/`) across processes.
// argv[2]: JSON { root, index, rounds, shared, own }
import { createHash } from 'node:crypto';
import { parseReference } from '../../dist/reference/index.js';
import { recordRef } from '../../dist/pull/index.js';
import { errorInfo, report, waitForGo } from './_common.mjs';

const cfg = JSON.parse(process.argv[2]);
const digestOf = (s) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const shared = parseReference(cfg.shared);
const own = parseReference(cfg.own);
const result = { index: cfg.index, written: [], errors: [] };

process.stdout.write('READY\n');
await waitForGo();
for (let round = 0; round < cfg.rounds; round++) {
  const digest = digestOf(`${cfg.index}/${round}`);
  try {
    await recordRef(cfg.root, shared, { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 100 + round }, [`linux/w${cfg.index}`]);
    await recordRef(cfg.root, own, { digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 100 + round });
    result.written.push(digest);
  } catch (err) {
    result.errors.push(errorInfo(err));
  }
}
report(result);
