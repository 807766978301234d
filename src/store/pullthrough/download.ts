/**
 * One download of a mote from the source into our own partial, resumed where the partial left off, bounded, and
 * verified over every byte before it is published into the store. Runs under a held fetch lock (see `fetch.ts`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createDigester, parseDigest } from '../../digest/index.js';
import { Verifier } from '../../digest/verifier.js';
import { DigestMismatchError, FetchFailedError, MoteNotFoundError, NoSpaceError, SizeMismatchError } from '../../errors.js';
import { sleep } from '../../internal/abort.js';
import { fsyncDir, unlinkBestEffort } from '../../internal/fs.js';
import { hasOtherOrigins, isRangeReadable, type MoteProvider } from '../roles.js';
import type { StoreContext } from '../file/context.js';
import { asStoreError } from '../file/errors.js';
import { publishSync } from '../file/publish.js';
import { isPublished } from '../file/blob-file.js';
import { drain, type DownloadState } from './drain.js';
import { LocalError, LockLostError, ShortStreamError, asAbort, isAbort, isFinal, localSync } from './failures.js';
import type { FetchLock } from './lock.js';
import { MAX_FAILURES_WITHOUT_PROGRESS, MAX_RETRY_PAUSE_MS } from './options.js';
import { adoptPartial, claimOwnPartial, createPartial, discardPartial, removeOwnPartial, type PartialFile } from './partial.js';
import type { FetchHint, FetchProgress } from './types.js';
import type { MoteInfo } from '../types.js';
import { DEFAULT_MEDIA_TYPE } from '../../oci/media-types.js';

/**
 * Downloads (or resumes) the mote into our own partial and publishes it. Returns its media type once published,
 * or undefined if the blob turned up meanwhile.
 */
export async function download(
  ctx: StoreContext,
  source: MoteProvider,
  digest: string,
  lock: FetchLock,
  notify: (e: FetchProgress) => void,
  hint: FetchHint = {},
): Promise<string | undefined> {
  const { paths } = ctx;
  // Somebody may have published it between our look and our lock.
  if (isPublished(paths.blobPath(digest))) return undefined;
  const info = await describe(source, digest, hint);
  lock.throwIfLost();
  const { algorithm } = parseDigest(digest);
  const size = info.size >= 0 ? info.size : -1;
  const rangeable = isRangeReadable(source);

  // Shared with drain(), which advances it chunk by chunk: after a failure mid-stream it says how far we got.
  // A mismatch names where the bytes came from (a registry's blob URL, a file path).
  const where = source.moteRef(digest);
  const expected = { digest, size: size >= 0 ? size : undefined, source: where ? `from ${where}` : undefined };
  const st: DownloadState = { offset: 0, verifier: new Verifier(expected) };
  let part: PartialFile;
  let fdOpen = false;
  let sourceFailed = false; // the failure is the source's (its NoSpaceError says nothing about our disk)
  const closeFd = (): void => {
    if (fdOpen) {
      fdOpen = false;
      fs.closeSync(part.fd);
    }
  };
  /** Start over from 0: our partial is removed by name (never truncated: see the module comment), a new one made. */
  const restart = (): void => {
    closeFd();
    if (!removeOwnPartial(paths, digest, part)) throw new LockLostError('partial taken away');
    part = createPartial(paths, digest, lock);
    fdOpen = true;
    st.offset = 0;
    st.verifier = new Verifier(expected);
    report();
  };
  const report = (): void => notify({ digest, received: st.offset, size });
  /** The bytes failed verification: true if the source now reads them from another origin (bounded by its origins). */
  const otherOrigin = (): boolean => hasOtherOrigins(source) && source.rejectServed(digest);

  try {
    const left = fs.statSync(paths.partialPath(digest), { throwIfNoEntry: false });
    if (left && size >= 0 && left.size > size) {
      // Longer than the mote: not a prefix of it. Nothing to resume, and a wrong size to report.
      discardPartial(paths, digest);
      throw new SizeMismatchError(digest, size, left.size);
    }
    // Reusing bytes only pays when we can ask for the rest, or when they are the whole mote.
    const reusable = left !== undefined && left.size > 0 && (rangeable || size < 0 || left.size === size);
    // Size unknown: a second digester over the reused bytes tells whether they are the whole mote already (a range
    // request from the end would be refused).
    const probe = reusable && size < 0 ? createDigester(algorithm) : undefined;
    if (reusable) {
      const adopted = await adoptPartial(paths, digest, lock, probe ? [st.verifier, probe] : [st.verifier], size >= 0 ? size : Infinity);
      part = adopted.part;
      st.offset = adopted.length;
    } else {
      if (left) discardPartial(paths, digest);
      part = createPartial(paths, digest, lock);
    }
    fdOpen = true;
    const reusedPrefix = st.offset > 0;
    let prefixRetried = false;
    let ended = probe !== undefined && st.offset > 0 && probe.digest() === digest;
    if (!ended && st.offset > 0 && !rangeable) restart(); // size unknown and not complete: cannot ask for the rest
    report();

    for (;;) {
      let attempts = 0;
      let failures = 0; // consecutive attempts that brought no new byte
      let highWater = st.offset; // the furthest any attempt got: a restart from 0 must beat it to count as progress
      while (size >= 0 ? st.offset < size : !ended) {
        lock.throwIfLost();
        attempts++;
        try {
          // A range-readable source streams unverified bytes (from 0 too): they are verified here, so every byte is
          // hashed once. Another source verifies its own stream, and a wrong one fails before it ends cleanly.
          const stream = rangeable
            ? await source.moteReaderFrom(digest, st.offset, { signal: lock.controller.signal })
            : await source.moteReader(digest, { signal: lock.controller.signal });
          await drain(stream, part.fd, st, lock, report, paths.root, ctx.durable);
          if (size >= 0 && st.offset < size) throw new ShortStreamError(`the source's stream ended after ${st.offset} of ${size} bytes`);
          ended = true;
        } catch (err) {
          if (err instanceof LocalError) throw err.inner;
          if (err instanceof LockLostError || lock.lost) throw new LockLostError('fetch lock lost');
          if (isFinal(err)) {
            if (isAbort(err)) throw asAbort(err);
            // The source says the bytes are wrong: those already written cannot be trusted either. (A source's
            // NoSpaceError is fatal too, but our bytes are fine: they stay for a resume.)
            if (err instanceof SizeMismatchError || err instanceof DigestMismatchError) {
              // Wrong bytes from one origin of several (a mirror): the next read comes from another, from 0.
              if (otherOrigin()) {
                restart();
                continue;
              }
              closeFd();
              removeOwnPartial(paths, digest, part);
            }
            sourceFailed = true;
            throw err;
          }
          if (st.offset > highWater) {
            highWater = st.offset;
            failures = 0;
          } else if (++failures >= MAX_FAILURES_WITHOUT_PROGRESS) {
            throw new FetchFailedError(digest, attempts, st.offset, err);
          }
          if (!rangeable && st.offset > 0) restart();
          await sleep(Math.min(MAX_RETRY_PAUSE_MS, 25 * 2 ** failures));
        }
      }

      const actual = st.verifier.digest();
      const onDisk = localSync(() => fs.fstatSync(part.fd).size, paths.root);
      if ((size < 0 || st.offset === size) && onDisk === st.offset && actual === digest) break;
      if (reusedPrefix && !prefixRetried && actual !== digest) {
        // The bytes we reused from disk were wrong (a power loss can leave zeros at the end of a file whose
        // writeback had not happened; someone may have written into it): one more time, all from the source.
        prefixRetried = true;
        restart();
        ended = false;
        continue;
      }
      if ((size < 0 || st.offset === size) && onDisk === st.offset && otherOrigin()) {
        // Bytes read unverified (by range) from one origin of several (a mirror): read again, from another.
        restart();
        ended = false;
        continue;
      }
      closeFd();
      removeOwnPartial(paths, digest, part); // never resumed, never published
      if (onDisk !== st.offset) throw new SizeMismatchError(digest, st.offset, onDisk);
      st.verifier.verify(); // the size, then the digest: one of them is wrong, or the loop would have ended
      throw new DigestMismatchError(digest, actual);
    }

    // Still ours? Checked before changing anything about the file.
    lock.throwIfLost();
    // Read-only like every blob, then data fsync BEFORE the rename: the blob name must never point at bytes that
    // a crash could still lose. fchmod first so the mode is in the same journal state as the data.
    localSync(() => fs.fchmodSync(part.fd, 0o444), paths.root);
    // In the thread pool: one download's fsync must not stall the process's other downloads on the main thread.
    if (ctx.durable) await syncFd(part.fd, paths.root);
    closeFd();
    lock.partial = undefined; // we are about to move it ourselves
    lock.throwIfLost();
    // Out of partial/ by rename, checked to be our inode, then the ordinary publish (rename unless the blob is
    // there already, then directory fsync when durable).
    const temp = claimOwnPartial(paths, digest, part);
    if (!temp) throw new LockLostError('partial taken away');
    try {
      publishSync(ctx, temp, digest, st.offset, false);
    } catch (err) {
      unlinkBestEffort(temp);
      throw asStoreError(err, paths.root);
    }
    // The new name made durable, in the thread pool too, before the caller is told the mote is in the store.
    if (ctx.durable) await fsyncDir(path.dirname(paths.blobPath(digest))).catch((err: unknown) => Promise.reject(asStoreError(err, paths.root)));
    return info.mediaType;
  } catch (err) {
    const failure = err instanceof LocalError ? err.inner : err;
    if (failure instanceof NoSpaceError && !sourceFailed && fdOpen) {
      // Our own write (or fsync) found the disk full. The bytes so far are right, but kept they would stay in the
      // way of every later pull and every other write until the stale sweep: nothing half-written stays (as
      // NoSpaceError promises). Removed by name and checked to be our inode, like every removal of our partial.
      closeFd();
      removeOwnPartial(paths, digest, part!);
    }
    throw failure;
  } finally {
    closeFd();
  }
}

/**
 * The size and media type to download by: what the caller knows from a manifest (no request; a source that then
 * sends more bytes fails at the first one too many), else what the source says.
 */
async function describe(source: MoteProvider, digest: string, hint: FetchHint): Promise<Pick<MoteInfo, 'size' | 'mediaType'>> {
  if (hint.size !== undefined) return { size: hint.size, mediaType: hint.mediaType || DEFAULT_MEDIA_TYPE };
  const info = await source.find(digest);
  if (!info) throw new MoteNotFoundError(digest, 'not in the cache nor in its source');
  return { size: info.size, mediaType: hint.mediaType || info.mediaType };
}

/** fsync of an open descriptor in the thread pool; a failure is the store's typed error (NoSpaceError...). */
function syncFd(fd: number, root: string): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(asStoreError(err, root)) : resolve())));
}
