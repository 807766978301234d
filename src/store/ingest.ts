import fs from 'node:fs';
import { Writable } from 'node:stream';
import { createDigester, digestOf, type DigestAlgorithm, type Digester } from '../digest/index.js';
import { DigestMismatchError, SizeMismatchError, asStoreError } from '../errors.js';
import type { MoteInfo } from './types.js';
import type { StoreContext } from './context.js';
import { unlinkBestEffort } from './fs-util.js';
import { publishSync } from './publish.js';
import { DEFAULT_MEDIA_TYPE } from './index-db.js';

/** What an ingest checks and records. A missing digest means "whatever the content hashes to". */
export interface IngestSpec {
  digest?: string;
  algorithm: DigestAlgorithm;
  /** -1: unknown, not checked. */
  size: number;
  mediaType?: string;
}

/** Throws the typed error if the content does not match the spec. Size first: it is the cheaper, clearer one. */
export function checkContent(spec: IngestSpec, actualDigest: string, actualSize: number): void {
  const label = spec.digest ?? actualDigest;
  if (spec.size >= 0 && actualSize !== spec.size) throw new SizeMismatchError(label, spec.size, actualSize);
  if (spec.digest !== undefined && actualDigest !== spec.digest) throw new DigestMismatchError(spec.digest, actualDigest);
}

/**
 * Stores bytes that are already in memory, synchronously: one file creation, one write, (fsync), one rename,
 * (directory fsync). For small motes the ~40-50 µs overhead of each async fs call would dominate, so this path
 * does what pnpm's store does and stays synchronous; large buffers go through {@link IngestStream} instead.
 */
export function ingestBytesSync(ctx: StoreContext, data: Uint8Array, spec: IngestSpec): MoteInfo {
  const digest = digestOf(data, spec.algorithm);
  checkContent(spec, digest, data.byteLength);
  const mediaType = spec.mediaType ?? DEFAULT_MEDIA_TYPE;
  const info: MoteInfo = { digest, size: data.byteLength, mediaType };
  if (fs.existsSync(ctx.layout.blobPath(digest))) {
    ctx.recordWrite(digest, mediaType);
    return info;
  }
  const temp = ctx.layout.tempPath('ingest');
  try {
    const fd = fs.openSync(temp, 'wx', 0o444);
    try {
      let off = 0;
      while (off < data.byteLength) off += fs.writeSync(fd, data, off, data.byteLength - off);
      if (ctx.durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    publishSync(ctx, temp, digest);
  } catch (err) {
    unlinkBestEffort(temp);
    throw asStoreError(err, ctx.layout.root);
  }
  ctx.recordWrite(digest, mediaType);
  return info;
}

/**
 * A Writable that ingests one mote: bytes go to a private temporary under `.mote/tmp/` while being hashed; at
 * the end the size and digest are checked, the file is fsynced (durable), renamed into `blobs/`, and only then
 * does `finish` fire. Any failure (mismatch, ENOSPC, destroy) removes the temporary and publishes nothing.
 */
export class IngestStream extends Writable {
  readonly #ctx: StoreContext;
  readonly #spec: IngestSpec;
  readonly #temp: string;
  readonly #digester: Digester;
  #fd = -1;
  #written = 0;
  #info: MoteInfo | undefined;

  constructor(ctx: StoreContext, spec: IngestSpec) {
    super({ highWaterMark: 1 << 20 });
    this.#ctx = ctx;
    this.#spec = spec;
    this.#temp = ctx.layout.tempPath('ingest');
    this.#digester = createDigester(spec.algorithm);
  }

  /** The published mote, once `finish` has fired. */
  get info(): MoteInfo | undefined {
    return this.#info;
  }

  /** Bytes accepted so far. */
  get bytesWritten(): number {
    return this.#written;
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
    const expected = this.#spec.size;
    if (expected >= 0 && this.#written + length > expected) {
      // Fail as soon as the source says more than announced: no point writing gigabytes we will throw away.
      return callback(new SizeMismatchError(this.#spec.digest ?? '(unknown digest)', expected, this.#written + length));
    }
    this.#written += length;
    // Start the write first, then hash while the thread pool copies the same (read-only) buffers to the page
    // cache: hashing and writing overlap instead of taking turns, which is what a piped hash tap gets for free.
    writevAll(this.#fd, buffers, (err) => callback(err ? this.#storeError(err) : null));
    for (const b of buffers) this.#digester.update(b);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#commit().then(
      () => callback(),
      (err: unknown) => {
        unlinkBestEffort(this.#temp);
        callback(this.#storeError(err));
      },
    );
  }

  async #commit(): Promise<void> {
    const fd = this.#fd;
    if (this.#ctx.durable) await new Promise<void>((res, rej) => fs.fsync(fd, (e) => (e ? rej(e) : res())));
    this.#fd = -1;
    await new Promise<void>((res, rej) => fs.close(fd, (e) => (e ? rej(e) : res())));
    const digest = this.#digester.digest();
    checkContent(this.#spec, digest, this.#written);
    publishSync(this.#ctx, this.#temp, digest);
    const mediaType = this.#spec.mediaType ?? DEFAULT_MEDIA_TYPE;
    this.#ctx.recordWrite(digest, mediaType);
    this.#info = { digest, size: this.#written, mediaType };
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
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
  }

  #storeError(err: unknown): Error {
    return asStoreError(err, this.#ctx.layout.root) as Error;
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
