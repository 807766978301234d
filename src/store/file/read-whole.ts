import fs from 'node:fs';
import { Readable } from 'node:stream';
import { verifyBytes } from '../../digest/verifier.js';
import type { StoreContext } from './context.js';
import { evictQuietly, openBlobSync } from './blob-file.js';

/** `get` reads motes up to this size synchronously in one go; larger ones are streamed. */
export const SYNC_READ_LIMIT = 8 << 20;

/**
 * `moteReader` reads motes up to this size whole at open (manifests, configs, small layers): an open, a read and a
 * close instead of a read link, a thread-pool read and its unlink, which cost more than the bytes for a few KiB.
 * Bigger ones stream from disk: a reader holds at most this much memory before it is consumed.
 */
export const SMALL_STREAM_LIMIT = 256 << 10;

/**
 * A small local mote as a Buffer, read synchronously in one go: `undefined` when it is not here or is larger than
 * {@link SYNC_READ_LIMIT} (the caller then streams it). No read link is needed: the descriptor keeps the inode
 * alive and nothing else runs meanwhile. With `verify`, a corrupt mote is evicted and `DigestMismatchError` thrown.
 */
export function readWholeSync(ctx: StoreContext, digest: string, verify: boolean, limit = SYNC_READ_LIMIT): Buffer | undefined {
  const opened = openBlobSync(ctx.paths.blobPath(digest));
  if (opened.kind === 'foreign') evictQuietly(ctx, digest, opened.ino); // a symlink, a directory: never read
  if (opened.kind !== 'file') return undefined;
  const { fd, st } = opened;
  let data: Buffer;
  try {
    const size = st.size;
    if (size > limit) return undefined;
    data = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = fs.readSync(fd, data, off, size - off, off);
      if (n === 0) break;
      off += n;
    }
    if (off < size) data = data.subarray(0, off);
    if (verify) {
      try {
        verifyBytes(data, { digest });
      } catch (err) {
        evictQuietly(ctx, digest, st.ino);
        throw err;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  ctx.recordUse(digest);
  return data;
}

/** A Readable of bytes already read (one chunk), or one that fails with `err` on the first read. */
export class BufferStream extends Readable {
  readonly #data: Buffer | undefined;
  readonly #err: Error | undefined;

  constructor(data: Buffer | undefined, err?: Error) {
    super({ highWaterMark: Math.max(data?.byteLength ?? 0, 1) });
    this.#data = data;
    this.#err = err;
  }

  override _read(): void {
    if (this.#err) return void this.destroy(this.#err);
    if (this.#data && this.#data.byteLength > 0) this.push(this.#data);
    this.push(null);
  }
}
