// examples/copy.mjs: an image from an OCI layout into another, its layers recompressed to zstd, through the store.
// The second copy finds the zstd variants in the store and compresses nothing. (docker://REF works the same way.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { copy } from 'motecache/copy';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mote-copy-example-'));
const cache = path.join(work, 'cache');
const first = await copy('oci:fixtures/oci-layout:alpha', `oci:${work}/one:alpha`, { cache, compress: 'zstd' });
console.log('first', first.layersTransformed, first.layersSubstituted, first.digest !== first.sourceDigest);
const second = await copy('oci:fixtures/oci-layout:alpha', `oci-archive:${work}/two.tar:alpha`, { cache, compress: 'zstd' });
console.log('second', second.layersTransformed, second.layersSubstituted, second.digest === first.digest);
fs.rmSync(work, { recursive: true, force: true });
