// Opens a mote with moteReader, reads one chunk, says so, and then hangs (until the parent's SIGKILL).
// argv: root digest
import { FileMoteCache } from './_common.mjs';

const [root, digest] = process.argv.slice(2);
const cache = new FileMoteCache(root);
const stream = await cache.moteReader(digest);
stream.once('data', (chunk) => {
  stream.pause();
  process.stdout.write(chunk.length > 0 ? "READING\n" : "EMPTY\n");
  setInterval(() => undefined, 1000);
});
