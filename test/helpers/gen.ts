import { createHash } from 'node:crypto';

/**
 * Deterministic large content, cheap to produce: a 1 MiB pseudo-random base block (sha512 chain of the seed),
 * with the block number stamped into every 64 KiB so no two blocks are equal. Keep in sync with
 * test/children/_gen.mjs (children produce the same bytes).
 */
export const BLOCK = 1 << 20;

export function baseBlock(seed: string): Buffer {
  const base = Buffer.allocUnsafe(BLOCK);
  for (let off = 0, j = 0; off < BLOCK; off += 64, j++) createHash('sha512').update(`${seed}:${j}`).digest().copy(base, off);
  return base;
}

export function block(base: Buffer, i: number, length = BLOCK): Buffer {
  const b = Buffer.allocUnsafe(length);
  base.copy(b, 0, 0, length);
  for (let off = 0; off + 4 <= length; off += 65536) b.writeUInt32BE(i >>> 0, off);
  return b;
}

export async function* content(seed: string, size: number): AsyncGenerator<Buffer> {
  const base = baseBlock(seed);
  for (let i = 0, off = 0; off < size; i++, off += BLOCK) yield block(base, i, Math.min(BLOCK, size - off));
}

/** The sha256 digest of {@link content}`(seed, size)`. */
export async function contentDigest(seed: string, size: number): Promise<string> {
  const h = createHash('sha256');
  for await (const b of content(seed, size)) h.update(b);
  return `sha256:${h.digest('hex')}`;
}
