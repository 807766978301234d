import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { Verifier } from '../../digest/verifier.js';
import { asStoreError } from '../file/errors.js';
import { LocalError, LockLostError } from './failures.js';
import type { FetchLock } from './lock.js';
import { EARLY_SYNC_BYTES } from './options.js';

export interface DownloadState {
  /** Bytes written to the partial (each went through `verifier`). */
  offset: number;
  /** Hashes every byte of the partial, and refuses more bytes than the mote's size. */
  verifier: Verifier;
}

/** Writes the stream's bytes at `st.offset` on, hashing them, advancing `st.offset` after each written chunk. */
export async function drain(
  source: Readable,
  fd: number,
  st: DownloadState,
  lock: FetchLock,
  report: () => void,
  root: string,
  durable: boolean,
): Promise<void> {
  // Durable downloads flush as they go: an fdatasync in the thread pool every EARLY_SYNC_BYTES, one at a time,
  // while the next chunks arrive. The download is usually faster than the disk, so without this all of a large
  // blob's writeback would wait for the final fsync, after the last byte. Failures here are ignored: the final
  // fsync before the rename is the one that counts, and it reports any error.
  let unsynced = 0;
  let syncing: Promise<void> | undefined;
  const earlySync = (): void => {
    unsynced = 0;
    syncing = new Promise<void>((resolve) => fs.fdatasync(fd, () => resolve())).finally(() => (syncing = undefined));
  };
  // A stalled stream must still notice a lost lock: destroy it then.
  const onLost = (): void => {
    source.destroy(new LockLostError('fetch lock lost'));
  };
  lock.controller.signal.addEventListener('abort', onLost, { once: true });
  try {
    for await (const chunk of source) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      // More than announced: a wrong mote, not an interruption. Stop before writing what we would throw away.
      st.verifier.ensureRoom(buf.byteLength);
      // Start the write, hash while the thread pool copies the same buffer, then wait for it. A failed write
      // is local and fatal, so the digester running ahead of the file never matters.
      const written = writeAllAt(fd, buf, st.offset);
      st.verifier.update(buf);
      try {
        await written;
      } catch (err) {
        throw new LocalError(asStoreError(err, root));
      }
      st.offset += buf.byteLength;
      report();
      if (lock.lost) throw new LockLostError('fetch lock lost');
      if (durable && (unsynced += buf.byteLength) >= EARLY_SYNC_BYTES && !syncing) earlySync();
    }
  } finally {
    // The fd must stay open until the thread pool is done with it (the caller closes it after we return).
    await syncing;
    lock.controller.signal.removeEventListener('abort', onLost);
    if (!source.destroyed) source.destroy();
  }
}

function writeAllAt(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (off: number): void => {
      fs.write(fd, buf, off, buf.byteLength - off, position + off, (err, n) => {
        if (err) return reject(err);
        if (off + n >= buf.byteLength) return resolve();
        step(off + n);
      });
    };
    step(0);
  });
}
