import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { Verifier } from '../../digest/verifier.js';
import { asStoreError } from '../file/errors.js';
import { LocalError, LockLostError } from './failures.js';
import type { FetchLock } from './lock.js';
import { EARLY_SYNC_BYTES, WRITE_BATCH_BYTES } from './options.js';

export interface DownloadState {
  /** Bytes written to the partial (each went through `verifier`). */
  offset: number;
  /** Hashes every byte of the partial, and refuses more bytes than the mote's size. */
  verifier: Verifier;
}

/**
 * Writes the stream's bytes at `st.offset` on, hashing them, advancing `st.offset` as batches are written.
 *
 * The chunks a socket gives (tens of KiB) are hashed as they arrive and written in batches of WRITE_BATCH_BYTES by
 * one `writev` in the thread pool, which runs while the next batch arrives and is hashed: the hash (main thread)
 * and the disk (thread pool) overlap, and the per-call cost of an async write is paid once per batch instead of
 * once per chunk. At most one batch is being written and one is filling, in order.
 *
 * Whenever it returns or throws, `st.offset` counts exactly the bytes hashed so far, all of them written: a
 * failure of the source first writes what was hashed, so a resume goes on from a verifier that matches the file.
 */
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
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let writing: Promise<void> | undefined;
  /** Waits for the batch being written, then starts writing the one filled since (if any). */
  const flush = async (): Promise<void> => {
    if (writing) await writing;
    writing = undefined;
    if (batchBytes === 0) return;
    const buffers = batch;
    const n = batchBytes;
    batch = [];
    batchBytes = 0;
    writing = writeAllAt(fd, buffers, n, st.offset).then(
      () => {
        st.offset += n;
        report();
        if (durable && (unsynced += n) >= EARLY_SYNC_BYTES && !syncing) earlySync();
      },
      (err: unknown) => {
        throw new LocalError(asStoreError(err, root));
      },
    );
    writing.catch(() => {}); // awaited by the next flush; not an unhandled rejection meanwhile
  };
  // A stalled stream must still notice a lost lock: destroy it then.
  const onLost = (): void => {
    source.destroy(new LockLostError('fetch lock lost'));
  };
  lock.controller.signal.addEventListener('abort', onLost, { once: true });
  try {
    try {
      for await (const chunk of source) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        // More than announced: a wrong mote, not an interruption. Stop before hashing what we would throw away.
        st.verifier.ensureRoom(buf.byteLength);
        st.verifier.update(buf);
        batch.push(buf);
        batchBytes += buf.byteLength;
        if (batchBytes >= WRITE_BATCH_BYTES) {
          await flush();
          if (lock.lost) throw new LockLostError('fetch lock lost');
        }
      }
    } catch (err) {
      // What was hashed is written before the failure is reported (a local write failure wins over it).
      if (!(err instanceof LocalError)) await flush().then(flush);
      throw err;
    }
    await flush();
    await flush();
    if (lock.lost) throw new LockLostError('fetch lock lost');
  } finally {
    // The fd must stay open until the thread pool is done with it (the caller closes it after we return).
    await writing?.catch(() => {});
    await syncing;
    lock.controller.signal.removeEventListener('abort', onLost);
    if (!source.destroyed) source.destroy();
  }
}

/** Writes `buffers` (`total` bytes) at `position`, however many calls it takes. */
function writeAllAt(fd: number, buffers: Buffer[], total: number, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (bufs: Buffer[], done: number): void => {
      fs.writev(fd, bufs, position + done, (err, n) => {
        if (err) return reject(err);
        if (done + n >= total) return resolve();
        step(rest(bufs, n), done + n);
      });
    };
    step(buffers, 0);
  });
}

/** `bufs` without their first `n` bytes. */
function rest(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (n >= bufs[i]!.byteLength) n -= bufs[i++]!.byteLength;
  return [bufs[i]!.subarray(n), ...bufs.slice(i + 1)];
}
