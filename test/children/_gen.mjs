// Deterministic large content, cheap to produce: a 1 MiB pseudo-random base block (sha512 chain of the seed),
// with the block number stamped into every 64 KiB so no two blocks are equal. Keep in sync with test/helpers/gen.ts.
import { createHash } from 'node:crypto';

export const BLOCK = 1 << 20;

export function baseBlock(seed) {
  const base = Buffer.allocUnsafe(BLOCK);
  for (let off = 0, j = 0; off < BLOCK; off += 64, j++) createHash('sha512').update(`${seed}:${j}`).digest().copy(base, off);
  return base;
}

/** Block `i` of the content: a fresh buffer (streams may hold on to it), `length` bytes. */
export function block(base, i, length = BLOCK) {
  const b = Buffer.allocUnsafe(length);
  base.copy(b, 0, 0, length);
  for (let off = 0; off + 4 <= length; off += 65536) b.writeUInt32BE(i >>> 0, off);
  return b;
}

/** The content of `size` bytes, as an async generator of blocks. `delay(i)` may return a promise to slow it down. */
export async function* content(seed, size, delay) {
  const base = baseBlock(seed);
  for (let i = 0, off = 0; off < size; i++, off += BLOCK) {
    if (delay) await delay(i);
    yield block(base, i, Math.min(BLOCK, size - off));
  }
}
