/**
 * Reading a mote while it is being downloaded (for `mote serve`: every client of a blob streams as bytes arrive,
 * one upstream download whoever asks). The fetch (fetch.ts) only says "published" at the end, so followers would
 * otherwise wait for the whole blob: this reads the download's partial file as it grows instead, in this process
 * or another on the same root, since the partial is an ordinary file under `.mote/partial/`.
 *
 * Why it is safe: the partial is unverified, and may even be replaced (a holder that restarts after a lying
 * source, or adopts a dead holder's partial, makes a new inode). So every byte read is hashed here, and the last
 * byte is held back until the fetch has published the verified blob: the rest is read from that blob, and the last
 * byte goes out only if what this reader delivered hashes to the digest. A source that lies, breaks or vanishes
 * makes the stream error before its last byte; nothing unverified is ever published (download.ts).
 */
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createDigester, parseDigest } from '../../digest/index.js';
import { DigestMismatchError } from '../../errors.js';
import { throwIfAborted } from '../../internal/abort.js';
import { isErrno } from '../../internal/errno.js';
import type { StorePaths } from '../file/paths.js';

/**
 * Bytes read per step (also the most one step holds in memory): 16 clients x 4 blobs at 1 MiB each held ~200 MiB
 * of buffers in the benchmark; 256 KiB keeps a reader's share small at no measurable cost in speed.
 */
const CHUNK = 256 << 10;

export interface GrowingReadOptions {
  /** How long to wait when the partial has no new bytes (woken at once when the fetch settles). */
  pollMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * The mote's `size` bytes, read from the partial download while `done` (the fetch) runs and from the published
 * blob after it; errors with the fetch's error, or `DigestMismatchError`, before the last byte.
 */
export async function* readGrowing(
  paths: StorePaths,
  digest: string,
  size: number,
  done: Promise<void>,
  options: GrowingReadOptions,
): AsyncGenerator<Buffer> {
  const { algorithm } = parseDigest(digest);
  const hash = createDigester(algorithm);
  let outcome: { error?: unknown } | undefined;
  let wake: (() => void) | undefined;
  done.then(
    () => ((outcome = {}), wake?.()),
    (error: unknown) => ((outcome = { error }), wake?.()),
  );
  const partial = paths.partialPath(digest);
  const held = size - 1; // the last byte waits for the verdict
  let sent = 0;
  let fh: FileHandle | undefined;
  let ino = 0;
  try {
    while (sent < held && !outcome) {
      throwIfAborted(options.signal);
      if (!fh) {
        try {
          fh = await fs.promises.open(partial, 'r');
          ino = (await fh.stat()).ino;
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
        }
      }
      let n = 0;
      let buf: Buffer | undefined;
      if (fh) {
        buf = Buffer.allocUnsafe(Math.min(CHUNK, held - sent));
        n = (await fh.read(buf, 0, buf.length, sent)).bytesRead;
        if (n === 0 && fs.statSync(partial, { throwIfNoEntry: false })?.ino !== ino) {
          // Renamed away (published, adopted or restarted): follow the name again. A published partial is found as
          // the blob once the fetch settles.
          await fh.close();
          fh = undefined;
        }
      }
      if (n > 0 && buf) {
        const chunk = n === buf.length ? buf : buf.subarray(0, n);
        hash.update(chunk);
        sent += n;
        yield chunk;
        continue;
      }
      await new Promise<void>((resolve) => {
        if (outcome) return resolve();
        const t = setTimeout(resolve, options.pollMs);
        wake = () => (clearTimeout(t), resolve());
      });
      wake = undefined;
    }
    await fh?.close();
    fh = undefined;
    await done; // throws the fetch's error: the stream fails before its last byte
    if (size === 0) return;
    // The rest from the published (verified) blob, all but its last byte, then the verdict on what we delivered.
    fh = await fs.promises.open(paths.blobPath(digest), 'r');
    while (sent < held) {
      throwIfAborted(options.signal);
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, held - sent));
      const n = (await fh.read(buf, 0, buf.length, sent)).bytesRead;
      if (n === 0) throw new DigestMismatchError(digest, `a blob shorter than ${size} bytes`, 'the published blob');
      const chunk = n === buf.length ? buf : buf.subarray(0, n);
      hash.update(chunk);
      sent += n;
      yield chunk;
    }
    const last = Buffer.allocUnsafe(1);
    if ((await fh.read(last, 0, 1, held)).bytesRead !== 1) throw new DigestMismatchError(digest, `a blob shorter than ${size} bytes`, 'the published blob');
    hash.update(last);
    const got = hash.digest();
    if (got !== digest) throw new DigestMismatchError(digest, got);
    yield last;
  } finally {
    await fh?.close().catch(() => {});
  }
}
