import fs from 'node:fs';
import { Readable } from 'node:stream';
import { Verifier } from '../../digest/verifier.js';
import { verifyFd } from '../../digest/hash-file.js';
import { ErrorCategory, MoteError } from '../../errors.js';
import { isErrno } from '../../internal/errno.js';
import type { MoteReaderAt } from '../types.js';
import { openReaders, type StoreContext } from './context.js';
import { unlinkBestEffort } from '../../internal/fs.js';
import { evictQuietly, openBlobSync, type OpenedBlob } from './blob-file.js';

/** An open mote: a file descriptor on the blob's inode, plus the private read link if one was made. */
export interface OpenMote {
  digest: string;
  blobPath: string;
  fd: number;
  size: number;
  ino: number;
  linkPath: string | undefined;
}

/**
 * Opens a mote for reading, or returns undefined if it is not in this store.
 *
 * With link-on-read the blob is first hard-linked to a private name under `.mote/tmp/` and the link is opened:
 * removing or pruning the blob mid-read then neither breaks the read nor frees the inode under it, and the link
 * count tells prune (in any process) that somebody is reading. The link is removed when the reader closes, and
 * also when opening fails halfway (the original leaked it).
 *
 * Only a regular file is a mote (see blob-file.ts): a symlink is never followed (link() links the symlink itself,
 * and the open refuses it), and anything else found at the blob path is evicted and reported as a miss.
 */
export function openMoteSync(ctx: StoreContext, digest: string, linkOnRead: boolean): OpenMote | undefined {
  const blobPath = ctx.paths.blobPath(digest);
  let linkPath: string | undefined;
  let target = blobPath;
  if (linkOnRead) {
    linkPath = ctx.paths.tempPath('read');
    try {
      fs.linkSync(blobPath, linkPath);
      target = linkPath;
    } catch (err) {
      // No blob, or no `.mote/tmp/` to link into (a layout this user could not complete): only the first is a miss.
      if (isErrno(err, 'ENOENT') && !fs.lstatSync(blobPath, { throwIfNoEntry: false })) return undefined;
      // The blob cannot take another link (EMLINK: tens of thousands of readers at once; EPERM/ENOTSUP: a
      // filesystem without hard links, or a directory at the blob path), or the cache cannot be written to
      // (EROFS: mounted read-only; EACCES: a shared cache we may only read). Read the blob directly: this
      // process's open-reader registry still keeps its own prune away, and an open descriptor survives removal.
      if (!isErrno(err, 'ENOENT', 'EMLINK', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EROFS', 'EACCES')) throw err;
      linkPath = undefined;
    }
  }
  let opened: OpenedBlob;
  try {
    opened = openBlobSync(target);
  } catch (err) {
    if (linkPath) unlinkBestEffort(linkPath);
    throw err;
  }
  if (opened.kind !== 'file') {
    if (linkPath) unlinkBestEffort(linkPath);
    if (opened.kind === 'foreign') evictQuietly(ctx, digest, opened.ino);
    return undefined;
  }
  openReaders.acquire(blobPath);
  return { digest, blobPath, fd: opened.fd, size: opened.st.size, ino: opened.st.ino, linkPath };
}

/** Closes the descriptor and removes the read link. Safe to call once per OpenMote. */
export function releaseMote(mote: OpenMote): void {
  try {
    fs.closeSync(mote.fd);
  } catch {
    /* already closed */
  }
  if (mote.linkPath) unlinkBestEffort(mote.linkPath);
  openReaders.release(mote.blobPath);
}

const READ_CHUNK = 1 << 20;

interface ReadResult {
  err: NodeJS.ErrnoException | null;
  n: number;
  buffer: Buffer;
}

/**
 * A Readable over an open mote. With `verify`, every byte is hashed on the way out and the stream fails with
 * `DigestMismatchError` at the end if the content is wrong (after evicting the mote, so the next read fetches it
 * again from the source, if the store reads through one). Without it, no hashing: blobs are verified when written and published read-only.
 *
 * It keeps one read ahead: as soon as a chunk arrives the next read is started on the thread pool, and only
 * then is the chunk hashed and pushed, so hashing (and the consumer) overlap with the disk instead of taking
 * turns with it.
 */
export class MoteReadStream extends Readable {
  readonly #mote: OpenMote;
  readonly #verifier: Verifier | undefined;
  readonly #onCorrupt: (() => void) | undefined;
  #position = 0;
  #inflight = false;
  #ready: ReadResult | undefined;
  #wanted = false;
  #released = false;
  #afterRead: (() => void) | undefined;

  constructor(mote: OpenMote, verify?: { onCorrupt: () => void }) {
    super({ highWaterMark: READ_CHUNK });
    this.#mote = mote;
    if (verify) {
      // Digest only: a mote's size is whatever its verified bytes were when published.
      this.#verifier = new Verifier({ digest: mote.digest });
      this.#onCorrupt = verify.onCorrupt;
    }
  }

  override _read(): void {
    this.#wanted = true;
    if (this.#ready) this.#consume();
    else if (!this.#inflight) this.#startRead();
  }

  #startRead(): void {
    this.#inflight = true;
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    fs.read(this.#mote.fd, buffer, 0, READ_CHUNK, this.#position, (err, n) => {
      this.#inflight = false;
      if (this.#afterRead) return this.#afterRead();
      this.#ready = { err, n, buffer };
      if (this.#wanted) this.#consume();
    });
  }

  #consume(): void {
    const { err, n, buffer } = this.#ready!;
    this.#ready = undefined;
    this.#wanted = false;
    if (err) return void this.destroy(err);
    if (n === 0) return this.#end();
    this.#position += n;
    // Read ahead while this chunk is hashed and handed on (at most one read in flight, one chunk waiting).
    if (this.#position < this.#mote.size) this.#startRead();
    const chunk = n === buffer.byteLength ? buffer : buffer.subarray(0, n);
    this.#verifier?.update(chunk);
    this.push(chunk);
  }

  #end(): void {
    try {
      this.#verifier?.verify();
    } catch (err) {
      this.#onCorrupt?.();
      this.destroy(err as Error);
      return;
    }
    this.push(null);
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    releaseMote(this.#mote);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Never close the descriptor under a read still running on the thread pool: the number could be reused by
    // another open() and that read would land in the wrong file. Release once the read is back, and only then
    // report the stream closed, so that 'close' still means "the read link is gone".
    const finish = (): void => {
      this.#release();
      callback(error);
    };
    if (this.#inflight) this.#afterRead = finish;
    else finish();
  }
}

/**
 * Random access over an open mote (verification, if wanted, is done by the caller before handing it out).
 * `close()` waits for reads in flight before closing the descriptor (a number closed under a running read could
 * be reused by another open() and the read would land in the wrong file); reads after it reject with
 * `ERR_MOTE_READER_CLOSED`.
 */
export function createReaderAt(mote: OpenMote): MoteReaderAt {
  let closed = false;
  let inFlight = 0;
  let released = false;
  let onIdle: (() => void) | undefined;
  const release = (): void => {
    if (released) return;
    released = true;
    releaseMote(mote);
  };
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    if (inFlight > 0) await new Promise<void>((resolve) => (onIdle = resolve));
    release();
  };
  return {
    size: mote.size,
    read(buffer, offset, length, position) {
      if (closed) return Promise.reject(new MoteError('ERR_MOTE_READER_CLOSED', `reader of ${mote.digest} is closed`, { category: ErrorCategory.Invalid }));
      inFlight++;
      return new Promise((resolve, reject) => {
        fs.read(mote.fd, buffer, offset, length, position, (err, n) => {
          if (--inFlight === 0 && onIdle) onIdle();
          if (err) reject(err);
          else resolve(n);
        });
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Re-hashes an open mote from its descriptor; rejects with DigestMismatchError if it is not what its name says. */
export async function verifyOpenMote(mote: OpenMote): Promise<void> {
  await verifyFd(mote.fd, { digest: mote.digest });
}
