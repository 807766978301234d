import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Verifier, parseDigest, verifyBytes, type DigestAlgorithm } from '../../digest/index.js';
import { SizeMismatchError } from '../../errors.js';
import { asStoreError } from './errors.js';
import type { MoteInfo, PutExpectation } from '../types.js';
import { checkMediaType, checkSize } from './check.js';
import type { StoreContext } from './context.js';
import { fsyncDirSync, unlinkBestEffort } from '../../internal/fs.js';
import { publishSync } from './publish.js';
import { DEFAULT_MEDIA_TYPE } from '../../oci/media-types.js';

/** What an ingest checks and records. A missing digest means "whatever the content hashes to". */
export interface IngestSpec {
  digest?: string;
  algorithm: DigestAlgorithm;
  /** -1: unknown, not checked. */
  size: number;
  mediaType?: string;
}


/**
 * Stores bytes that are already in memory, synchronously: one file creation, one write, (fsync), one rename,
 * (directory fsync). For small motes the ~40-50 µs overhead of each async fs call would dominate, so this path
 * does what pnpm's store does and stays synchronous; large buffers go through {@link IngestStream} instead.
 */
export function ingestBytesSync(ctx: StoreContext, data: Uint8Array, spec: IngestSpec): MoteInfo {
  const digest = verifyBytes(data, spec);
  const mediaType = spec.mediaType ?? DEFAULT_MEDIA_TYPE;
  const info: MoteInfo = { digest, size: data.byteLength, mediaType };
  const blobPath = ctx.paths.blobPath(digest);
  // Already stored: a regular file of the right size (an lstat, no hash). Anything else there (a symlink, a
  // directory, a truncated file) is not the mote: it is written, and publishSync replaces what is there.
  const stored = (): boolean => {
    const st = fs.lstatSync(blobPath, { throwIfNoEntry: false });
    return st !== undefined && st.isFile() && st.size === data.byteLength;
  };
  if (stored()) {
    // Record the use first, then look again: a prune that started earlier now leaves the mote alone, and one
    // that removed it in between is caught by the second look (then we write it after all).
    ctx.recordWrite(digest, mediaType);
    if (stored()) {
      if (ctx.durable) fsyncDirSync(path.dirname(blobPath)); // the winner may not have synced it yet
      return info;
    }
  }
  const temp = ctx.paths.tempPath('ingest');
  try {
    const fd = fs.openSync(temp, 'wx', 0o444);
    try {
      let off = 0;
      while (off < data.byteLength) off += fs.writeSync(fd, data, off, data.byteLength - off);
      if (ctx.durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    publishSync(ctx, temp, digest, data.byteLength);
  } catch (err) {
    unlinkBestEffort(temp);
    throw asStoreError(err, ctx.paths.root);
  }
  ctx.recordWrite(digest, mediaType);
  return info;
}

/** Rejection used internally when the stream was destroyed while its I/O was in flight; never surfaces. */
const DESTROYED = Symbol('destroyed');

/**
 * A Writable that ingests one mote: bytes go to a private temporary under `.mote/tmp/` while being hashed; at
 * the end the size and digest are checked, the file is fsynced (durable), renamed into `blobs/`, and only then
 * does `finish` fire. Any failure (mismatch, ENOSPC, destroy) removes the temporary and publishes nothing.
 *
 * Descriptor ownership: at most one fs call is in flight at a time, and `destroy()` never closes the descriptor
 * under it. A descriptor number closed while a write is queued on the thread pool can be reused by any open()
 * in the process (another ingest's temporary, the SQLite index), and the write would land there; so destroy
 * waits for the call to come back, then closes, unlinks and reports.
 */
export class IngestStream extends Writable {
  readonly #ctx: StoreContext;
  readonly #spec: IngestSpec;
  readonly #temp: string;
  readonly #verifier: Verifier;
  #fd = -1;
  #written = 0;
  #info: MoteInfo | undefined;
  #busy = false;
  #whenIdle: (() => void) | undefined;

  constructor(ctx: StoreContext, spec: IngestSpec) {
    super({ highWaterMark: 1 << 20 });
    this.#ctx = ctx;
    this.#spec = spec;
    this.#temp = ctx.paths.tempPath('ingest');
    this.#verifier = new Verifier(spec);
  }

  /** The published mote, once `finish` has fired. */
  get info(): MoteInfo | undefined {
    return this.#info;
  }

  /** Bytes accepted so far. */
  get bytesWritten(): number {
    return this.#written;
  }

  /**
   * Runs one fs call with the stream marked busy. When it comes back after a destroy, the deferred cleanup runs
   * and `done` is not called (the stream is gone; nobody is waiting for it).
   */
  #io(start: (cb: (err: NodeJS.ErrnoException | null) => void) => void, done: (err: NodeJS.ErrnoException | null) => void): void {
    this.#busy = true;
    start((err) => {
      this.#busy = false;
      const cleanup = this.#whenIdle;
      if (cleanup) {
        this.#whenIdle = undefined;
        return cleanup();
      }
      done(err);
    });
  }

  #ioPromise(start: (cb: (err: NodeJS.ErrnoException | null) => void) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#io(start, (err) => (err ? reject(err) : resolve()));
      // A destroy during the call resolves nothing: the pending #commit is simply abandoned.
    });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    fs.open(this.#temp, 'wx', 0o444, (err, fd) => {
      if (err) return callback(this.#storeError(err));
      this.#fd = fd;
      callback();
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this._writev([{ chunk }], callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    const buffers: Buffer[] = [];
    let length = 0;
    for (const { chunk } of chunks) {
      buffers.push(chunk);
      length += chunk.byteLength;
    }
    try {
      // Fail as soon as the source says more than announced: no point writing gigabytes we will throw away.
      this.#verifier.ensureRoom(length);
    } catch (err) {
      return callback(err as Error);
    }
    this.#written += length;
    // Start the write first, then hash while the thread pool copies the same (read-only) buffers to the page
    // cache: hashing and writing overlap instead of taking turns, which is what a piped hash tap gets for free.
    const fd = this.#fd;
    this.#io(
      (cb) => writevAll(fd, buffers, cb),
      (err) => callback(err ? this.#storeError(err) : null),
    );
    for (const b of buffers) this.#verifier.update(b);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#commit().then(
      () => callback(),
      (err: unknown) => {
        if (err === DESTROYED) return;
        unlinkBestEffort(this.#temp);
        callback(this.#storeError(err));
      },
    );
  }

  async #commit(): Promise<void> {
    const fd = this.#fd;
    if (this.#ctx.durable) await this.#ioPromise((cb) => fs.fsync(fd, cb));
    this.#fd = -1; // from here on this method owns the descriptor, and closes it
    await this.#ioPromise((cb) => fs.close(fd, cb));
    if (this.destroyed) throw DESTROYED;
    // Everything below is synchronous: a destroy() cannot slip in between the checks and the publish.
    const digest = this.#verifier.verify();
    // The bytes hashed are the bytes written: belt and braces against a short or foreign write.
    const onDisk = fs.statSync(this.#temp).size;
    if (onDisk !== this.#written) throw new SizeMismatchError(digest, this.#written, onDisk);
    publishSync(this.#ctx, this.#temp, digest, this.#written);
    const mediaType = this.#spec.mediaType ?? DEFAULT_MEDIA_TYPE;
    this.#ctx.recordWrite(digest, mediaType);
    this.#info = { digest, size: this.#written, mediaType };
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const cleanup = (): void => {
      if (this.#fd >= 0) {
        try {
          fs.closeSync(this.#fd);
        } catch {
          /* already failing */
        }
        this.#fd = -1;
      }
      if (!this.#info) unlinkBestEffort(this.#temp);
      callback(error);
    };
    if (this.#busy) this.#whenIdle = cleanup;
    else cleanup();
  }

  #storeError(err: unknown): Error {
    return asStoreError(err, this.#ctx.paths.root) as Error;
  }
}

/** writev until every byte is written (writev may write partially, e.g. close to a full disk). */
function writevAll(fd: number, buffers: Buffer[], callback: (err: NodeJS.ErrnoException | null) => void): void {
  fs.writev(fd, buffers, (err, n) => {
    if (err) return callback(err);
    let rest = n;
    let i = 0;
    while (i < buffers.length && rest >= buffers[i]!.byteLength) rest -= buffers[i++]!.byteLength;
    if (i === buffers.length) return callback(null);
    const remaining = [buffers[i]!.subarray(rest), ...buffers.slice(i + 1)];
    writevAll(fd, remaining, callback);
  });
}

/** What `put` checks and records, from the caller's expectation and the store's default algorithm. */
export function ingestSpec(expected: PutExpectation, algorithm: DigestAlgorithm): IngestSpec {
  const spec: IngestSpec = { algorithm, size: -1 };
  if (expected.digest !== undefined) {
    spec.digest = expected.digest;
    spec.algorithm = parseDigest(expected.digest).algorithm;
  }
  if (expected.size !== undefined) {
    checkSize(expected.size);
    spec.size = expected.size;
  }
  if (expected.mediaType !== undefined) {
    checkMediaType('put', expected.mediaType);
    if (expected.mediaType !== '') spec.mediaType = expected.mediaType;
  }
  return spec;
}
