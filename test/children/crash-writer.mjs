// Streams a large mote through moteWriter: the first `fast` bytes at full speed, the rest slowly, so the parent's
// SIGKILL lands mid-write. Should never get to the end. argv: root digest size seed fastBytes
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FileMoteCache, report } from './_common.mjs';
import { BLOCK, content } from './_gen.mjs';

const [root, digest, sizeArg, seed, fastArg] = process.argv.slice(2);
const size = Number(sizeArg);
const fastBlocks = Math.ceil(Number(fastArg) / BLOCK);
const cache = new FileMoteCache(root); // durable, default options
await cache.createMote(digest, 'application/vnd.test.big', size);
const writer = await cache.moteWriter(digest);
process.stdout.write('WRITING\n');
const slow = (i) => (i >= fastBlocks ? new Promise((r) => setTimeout(r, 100)) : undefined);
await pipeline(Readable.from(content(seed, size, slow)), writer);
report({ finished: true });
